package seed.stages.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import seed.stages.data.ChatFormat;
import seed.stages.model.Gpt;
import seed.stages.model.NoGrad;
import seed.stages.model.KvCache;
import seed.stages.tokenizer.Tokenizer;

/**
 * Batched sampling from a {@link Gpt}. Prompts of different lengths are left-padded and masked, so every sequence
 * sees exactly its own tokens. With the KV cache, the prompt is run once and each new token costs one token's
 * forward pass; without it, the whole sequence is re-run every step (kept for comparison and as a correctness check).
 *
 * <p>Runs with gradient recording off on the calling thread ({@link NoGrad}): generation is inference.
 */
public final class Generator {

    private final Gpt model;
    private final Tokenizer tokenizer;
    private final ChatFormat format;

    /** With the tokenizer's own chat format ({@link ChatFormat#of}): its stop rule and visible text. */
    public Generator(Gpt model, Tokenizer tokenizer) {
        this(model, ChatFormat.of(tokenizer));
    }

    public Generator(Gpt model, ChatFormat format) {
        this.model = model;
        this.tokenizer = format.tokenizer();
        this.format = format;
    }

    /** Generates from text prompts (encoded with the tokenizer, no special tokens added). */
    public List<Generation> generateText(List<String> prompts, SamplingSettings settings) {
        List<int[]> encoded = new ArrayList<>();
        for (String prompt : prompts) {
            encoded.add(tokenizer.encode(prompt));
        }
        return generate(encoded, settings);
    }

    /**
     * The token sequence an SFT model expects for an instruction (one user message): Seed's
     * {@code <|prompt|> prompt <|response|>}, or the chat template's rendering with the generation prompt.
     */
    public int[] instructionPrompt(String prompt) {
        return format.prompt(ChatFormat.userTurn(prompt)).ids();
    }

    /** Generates one continuation per prompt (token ids); sequence i samples with seed {@code settings.seed() + i}. */
    public List<Generation> generate(List<int[]> prompts, SamplingSettings settings) {
        if (prompts.isEmpty()) {
            return List.of();
        }
        try (NoGrad ignored = NoGrad.enter()) {
            return generateWithoutGradients(prompts, settings);
        }
    }

    private List<Generation> generateWithoutGradients(List<int[]> prompts, SamplingSettings settings) {
        int batch = prompts.size();
        int longest = 0;
        for (int[] p : prompts) {
            if (p.length == 0) {
                throw new IllegalArgumentException("empty prompt: give at least one token");
            }
            longest = Math.max(longest, p.length);
        }
        int context = model.config().context();
        if (longest > context) {
            throw new IllegalArgumentException("prompt of " + longest + " tokens is longer than the context of "
                    + context + " tokens");
        }
        int maxNew = settings.maxNewTokens();
        Sampler[] samplers = new Sampler[batch];
        List<List<Integer>> produced = new ArrayList<>();
        Generation.StopReason[] reasons = new Generation.StopReason[batch];
        for (int b = 0; b < batch; b++) {
            samplers[b] = new Sampler(settings, settings.seed() + b, prompts.get(b));
            produced.add(new ArrayList<>());
        }
        try (NDManager manager = NDManager.newBaseManager(model.device())) {
            KvCache cache = null;
            int[] next = null;
            for (int step = 0; step < maxNew && !allDone(reasons); step++) {
                float[][] rows;
                if (!settings.kvCache()) {
                    try (NDManager stepManager = manager.newSubManager()) {
                        rows = lastRows(fullStep(stepManager, window(prompts, produced, context)), batch);
                    }
                } else if (cache != null && cache.length() < context) {
                    rows = model.nextLogits(next, cache); // the common step: one token per sequence, no arrays made
                } else {
                    // First step, or the cache is full: (re)fill it from the last half-context of every sequence.
                    List<int[]> sequences = cache == null ? prompts : window(prompts, produced, context / 2);
                    try (NDManager stepManager = manager.newSubManager()) {
                        Filled filled = fill(manager, stepManager, sequences, cache);
                        cache = filled.cache();
                        rows = lastRows(filled.logits(), batch);
                    }
                }
                next = new int[batch];
                for (int b = 0; b < batch; b++) {
                    if (reasons[b] != null) {
                        next[b] = tokenizer.endOfTextId(); // finished rows keep feeding a token; it is discarded
                        continue;
                    }
                    int token = samplers[b].sample(rows[b]);
                    next[b] = token;
                    produced.get(b).add(token);
                    reasons[b] = stopReason(produced.get(b), settings);
                }
            }
        }
        List<Generation> out = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            int[] tokens = produced.get(b).stream().mapToInt(Integer::intValue).toArray();
            Generation.StopReason reason = reasons[b] != null ? reasons[b] : Generation.StopReason.MAX_TOKENS;
            out.add(new Generation(prompts.get(b), tokens, visibleText(tokens, reason, settings), reason));
        }
        return out;
    }

    /** The distinct sequences of a batch, and for each row the index of its sequence among them. */
    record SharedPrompts(List<int[]> distinct, int[] rowOf) {

        static SharedPrompts of(List<int[]> sequences) {
            java.util.Map<java.util.List<Integer>, Integer> index = new java.util.HashMap<>();
            List<int[]> distinct = new ArrayList<>();
            int[] rowOf = new int[sequences.size()];
            for (int i = 0; i < sequences.size(); i++) {
                int[] s = sequences.get(i);
                rowOf[i] = index.computeIfAbsent(Arrays.stream(s).boxed().toList(), k -> {
                    distinct.add(s);
                    return distinct.size() - 1;
                });
            }
            return new SharedPrompts(distinct, rowOf);
        }

        long[] rowOfLong() {
            return Arrays.stream(rowOf).asLongStream().toArray();
        }
    }

    /** A filled cache and the logits of its sequences. */
    private record Filled(KvCache cache, NDArray logits) {
    }

    /**
     * A cache prefilled with {@code sequences} (arrays in {@code manager}, temporaries in {@code step}) and their
     * logits. A refill reuses {@code old}, cleared: it keeps its buffers and the decode weights its first step
     * copied, the same weights within one generation. k samples of one prompt (RLOO/GRPO rollouts) prefill each
     * distinct prompt once and share its keys and values among its rows.
     */
    private Filled fill(NDManager manager, NDManager step, List<int[]> sequences, KvCache old) {
        int batch = sequences.size();
        SharedPrompts shared = SharedPrompts.of(sequences);
        if (shared.distinct().size() == batch) {
            KvCache cache = old != null ? old : model.newCache(manager.newSubManager(), batch);
            if (old != null) {
                old.clear();
            }
            return new Filled(cache, prefill(step, sequences, cache));
        }
        if (old != null) {
            old.close();
        }
        KvCache once = model.newCache(step, shared.distinct().size());
        NDArray distinctLogits = prefill(step, shared.distinct(), once);
        return new Filled(once.select(manager.newSubManager(), shared.rowOf()),
                distinctLogits.get(step.create(shared.rowOfLong())));
    }

    /** Runs left-padded sequences through the model, filling an empty cache. */
    private NDArray prefill(NDManager m, List<int[]> sequences, KvCache cache) {
        int batch = sequences.size();
        int longest = sequences.stream().mapToInt(p -> p.length).max().orElse(1);
        long[] ids = new long[batch * longest];
        float[] mask = new float[batch * longest];
        boolean padded = false;
        for (int b = 0; b < batch; b++) {
            int[] p = sequences.get(b);
            int pad = longest - p.length;
            padded |= pad > 0;
            for (int t = 0; t < longest; t++) {
                ids[b * longest + t] = t < pad ? tokenizer.endOfTextId() : p[t - pad];
                mask[b * longest + t] = t < pad ? 0f : 1f;
            }
        }
        Shape shape = new Shape(batch, longest);
        return model.forward(m.create(ids, shape), padded ? m.create(mask, shape) : null, cache);
    }

    /** The last {@code limit} tokens of prompt + produced, per sequence (nanoGPT's crop to the context). */
    private static List<int[]> window(List<int[]> prompts, List<List<Integer>> produced, int limit) {
        List<int[]> out = new ArrayList<>();
        for (int b = 0; b < prompts.size(); b++) {
            int[] p = prompts.get(b);
            List<Integer> made = produced.get(b);
            int total = p.length + made.size();
            int start = Math.max(0, total - limit);
            int[] seq = new int[total - start];
            for (int i = start; i < total; i++) {
                seq[i - start] = i < p.length ? p[i] : made.get(i - p.length);
            }
            out.add(seq);
        }
        return out;
    }

    /** Without the cache: re-run every sequence, left-padded and masked, and read the last position. */
    private NDArray fullStep(NDManager m, List<int[]> sequences) {
        int batch = sequences.size();
        int length = sequences.stream().mapToInt(p -> p.length).max().orElse(1);
        long[] ids = new long[batch * length];
        float[] mask = new float[batch * length];
        for (int b = 0; b < batch; b++) {
            int[] seq = sequences.get(b);
            int pad = length - seq.length;
            for (int t = 0; t < length; t++) {
                ids[b * length + t] = t < pad ? tokenizer.endOfTextId() : seq[t - pad];
                mask[b * length + t] = t < pad ? 0f : 1f;
            }
        }
        return model.forward(m.create(ids, new Shape(batch, length)), m.create(mask, new Shape(batch, length)));
    }

    private static float[][] lastRows(NDArray logits, int batch) {
        long length = logits.getShape().get(1);
        int vocab = (int) logits.getShape().get(2);
        float[] flat = (length == 1 ? logits : logits.get(new NDIndex(":, {}, :", length - 1))).toFloatArray();
        float[][] rows = new float[batch][];
        for (int b = 0; b < batch; b++) {
            rows[b] = Arrays.copyOfRange(flat, b * vocab, (b + 1) * vocab);
        }
        return rows;
    }

    private Generation.StopReason stopReason(List<Integer> tokens, SamplingSettings settings) {
        if (format.endsResponse(tokens.get(tokens.size() - 1))) {
            return Generation.StopReason.END_OF_TEXT;
        }
        if (!settings.stop().isEmpty()) {
            String text = decodeVisible(tokens.stream().mapToInt(Integer::intValue).toArray());
            for (String stop : settings.stop()) {
                if (!stop.isEmpty() && text.endsWith(stop)) {
                    return Generation.StopReason.STOP_SEQUENCE;
                }
            }
        }
        return null;
    }

    private String visibleText(int[] tokens, Generation.StopReason reason, SamplingSettings settings) {
        String text = decodeVisible(tokens);
        if (reason == Generation.StopReason.STOP_SEQUENCE) {
            for (String stop : settings.stop()) {
                if (!stop.isEmpty() && text.endsWith(stop)) {
                    return text.substring(0, text.length() - stop.length());
                }
            }
        }
        return text;
    }

    /** Decodes without special tokens (they end or frame a response; they are not part of its text). */
    private String decodeVisible(int[] tokens) {
        return format.visibleText(tokens);
    }

    private static boolean allDone(Generation.StopReason[] reasons) {
        for (Generation.StopReason r : reasons) {
            if (r == null) {
                return false;
            }
        }
        return true;
    }
}
