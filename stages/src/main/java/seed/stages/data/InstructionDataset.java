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
 * <p>Examples that do not fit {@code --max-length} are cut or refused by a {@link Truncation} (TRL's meanings: prompts
 * lose their beginning, responses their end, {@code drop} skips); {@link #encoder()} reports what was cut. A response
 * cut at the right has no end token, so the model is never taught to stop where the data did not.
 */
public final class InstructionDataset implements BatchSource {

    /** Encoded example: token ids and how many of them (from the start) are prompt. */
    record Encoded(int[] ids, int promptLength) {
    }

    private final List<Encoded> train = new ArrayList<>();
    private final List<Encoded> heldOut = new ArrayList<>();
    private final int batchSize;
    private final long seed;
    private final ExampleEncoder encoder;
    private final List<Batch> validation;
    private final int padId;

    /** The old form: {@code truncateLeft} = {@code --truncate-prompt left}, responses that do not fit are errors. */
    public InstructionDataset(List<InstructionExample> examples, Tokenizer tokenizer, int context, int batchSize,
            double heldOutFraction, long seed, boolean truncateLeft) {
        this(examples, tokenizer, context, batchSize, heldOutFraction, seed,
                new Truncation(0, 0, truncateLeft ? Truncation.Prompt.LEFT : Truncation.Prompt.ERROR,
                        Truncation.Response.ERROR), "line");
    }

    /**
     * @param source names the data in errors ({@code source:line}); with {@code "line"} errors read "line N"
     */
    public InstructionDataset(List<InstructionExample> examples, Tokenizer tokenizer, int context, int batchSize,
            double heldOutFraction, long seed, Truncation truncation, String source) {
        this.batchSize = batchSize;
        this.seed = seed;
        this.encoder = new ExampleEncoder(tokenizer, truncation, context + 1); // inputs and targets: context + 1 tokens
        List<Encoded> all = new ArrayList<>();
        for (InstructionExample example : examples) {
            String where = source.equals("line") ? "line " + example.lineNumber() : source + ":" + example.lineNumber();
            ExampleEncoder.Encoded e = encoder.example(example.conversation(), example.response(), where);
            if (e != null) {
                all.add(new Encoded(e.ids(), e.promptLength()));
            }
        }
        encoder.requireSome(all.size(), source.equals("line") ? "the SFT data" : source);
        List<Encoded> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, new Random(seed));
        int held = all.size() < 2 ? 0 : (int) Math.max(1, Math.round(all.size() * heldOutFraction));
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

    /** What truncation did to the data (counts of cut and dropped examples). */
    public ExampleEncoder encoder() {
        return encoder;
    }

    /** How many prompts were cut at the left to fit the context. */
    public int truncatedPrompts() {
        return encoder.promptsCut();
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
        int cut = encoder.promptsCut() + encoder.responsesCut() + encoder.dropped();
        return String.format("%,d train examples, %,d held out%s", train.size(), heldOut.size(),
                cut > 0 ? "; truncation: " + encoder.report() : "");
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
