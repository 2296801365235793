package seed.stages.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.Batch;
import seed.stages.train.BatchSource;

/**
 * SFT batches: each example is {@code <|prompt|> prompt <|response|> response <|endoftext|>}; the loss counts the
 * response tokens and the end token only (prompt positions are masked). Sequences are right-padded to the longest in
 * the batch; because attention is causal, padding after a sequence never changes what its real tokens see, and padded
 * positions are masked out of the loss.
 *
 * <p>A prompt that does not fit the context is an error naming its line, unless {@code truncateLeft} is set: then
 * the start of the prompt is dropped (the end, nearest the response, is kept) and the number of cut prompts is
 * reported by {@link #truncatedPrompts()}.
 */
public final class InstructionDataset implements BatchSource {

    /** Encoded example: token ids and how many of them (from the start) are prompt. */
    record Encoded(int[] ids, int promptLength) {
    }

    private final List<Encoded> train = new ArrayList<>();
    private final List<Encoded> heldOut = new ArrayList<>();
    private final int batchSize;
    private final long seed;
    private final int truncated;
    private final List<Batch> validation;

    public InstructionDataset(List<InstructionExample> examples, Tokenizer tokenizer, int context, int batchSize,
            double heldOutFraction, long seed, boolean truncateLeft) {
        this.batchSize = batchSize;
        this.seed = seed;
        int cut = 0;
        List<Encoded> all = new ArrayList<>();
        for (InstructionExample example : examples) {
            int[] prompt = tokenizer.encode(example.prompt());
            int[] response = tokenizer.encode(example.response());
            int needed = prompt.length + response.length + 3; // <|prompt|> <|response|> <|endoftext|>
            int limit = context + 1; // inputs and targets are shifted views of context + 1 tokens
            if (response.length + 3 >= limit) {
                throw new IllegalArgumentException("line " + example.lineNumber() + ": the response alone ("
                        + response.length + " tokens) does not fit the context of " + context + " tokens");
            }
            if (needed > limit) {
                if (!truncateLeft) {
                    throw new IllegalArgumentException("line " + example.lineNumber() + ": prompt + response need "
                            + needed + " tokens but the context is " + context
                            + "; shorten it or pass --truncate-prompt left to keep the end of the prompt");
                }
                int keep = limit - response.length - 3;
                int[] kept = new int[keep];
                System.arraycopy(prompt, prompt.length - keep, kept, 0, keep);
                prompt = kept;
                cut++;
            }
            int[] ids = new int[prompt.length + response.length + 3];
            ids[0] = tokenizer.promptId();
            System.arraycopy(prompt, 0, ids, 1, prompt.length);
            ids[prompt.length + 1] = tokenizer.responseId();
            System.arraycopy(response, 0, ids, prompt.length + 2, response.length);
            ids[ids.length - 1] = tokenizer.endOfTextId();
            all.add(new Encoded(ids, prompt.length + 2));
        }
        this.truncated = cut;
        List<Encoded> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, new Random(seed));
        int held = examples.size() < 2 ? 0 : (int) Math.max(1, Math.round(examples.size() * heldOutFraction));
        heldOut.addAll(shuffled.subList(0, held));
        train.addAll(shuffled.subList(held, shuffled.size()));
        if (train.isEmpty()) {
            throw new IllegalArgumentException("no SFT examples left for training after holding out " + held);
        }
        this.validation = new ArrayList<>();
        for (int start = 0; start < heldOut.size(); start += batchSize) {
            validation.add(collate(heldOut.subList(start, Math.min(heldOut.size(), start + batchSize)),
                    tokenizer.endOfTextId()));
        }
        this.padId = tokenizer.endOfTextId();
    }

    private final int padId;

    /** How many prompts were cut at the left to fit the context. */
    public int truncatedPrompts() {
        return truncated;
    }

    /** Batch of step s: examples in a per-epoch shuffled order derived from (seed, epoch). */
    @Override
    public Batch trainBatch(long step) {
        List<Encoded> chosen = new ArrayList<>(batchSize);
        long first = step * batchSize;
        for (long i = first; i < first + batchSize; i++) {
            long epoch = i / train.size();
            List<Integer> order = epochOrder(epoch);
            chosen.add(train.get(order.get((int) (i % train.size()))));
        }
        return collate(chosen, padId);
    }

    private long cachedEpoch = -1;
    private List<Integer> cachedOrder;

    private List<Integer> epochOrder(long epoch) {
        if (epoch != cachedEpoch) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < train.size(); i++) {
                order.add(i);
            }
            Collections.shuffle(order, new Random(seed * 31 + epoch));
            cachedOrder = order;
            cachedEpoch = epoch;
        }
        return cachedOrder;
    }

    @Override
    public List<Batch> validationBatches() {
        return validation;
    }

    @Override
    public String describe() {
        return String.format("%,d train examples, %,d held out%s", train.size(), heldOut.size(),
                truncated > 0 ? ", " + truncated + " prompts truncated at the left" : "");
    }

    private static Batch collate(List<Encoded> examples, int padId) {
        int length = 1;
        for (Encoded e : examples) {
            length = Math.max(length, e.ids().length - 1);
        }
        int size = examples.size();
        long[] inputs = new long[size * length];
        long[] targets = new long[size * length];
        float[] mask = new float[size * length];
        java.util.Arrays.fill(inputs, padId);
        java.util.Arrays.fill(targets, padId);
        for (int b = 0; b < size; b++) {
            int[] ids = examples.get(b).ids();
            for (int t = 0; t < ids.length - 1; t++) {
                inputs[b * length + t] = ids[t];
                targets[b * length + t] = ids[t + 1];
                // target t+1 is a response token (or the end token) when t+1 >= promptLength
                mask[b * length + t] = t + 1 >= examples.get(b).promptLength() ? 1f : 0f;
            }
        }
        return new Batch(size, length, inputs, targets, mask);
    }
}
