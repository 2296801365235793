package seed.stages.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The one-token decode step (the program's {@code decode}, which generation runs without gradients on weights laid
 * out for it) gives the logits of a full recompute of the whole sequence, for one sequence and for a left-padded
 * batch, in fp32 and bf16, for Seed's shape and GPT-2's options; and a new cache sees weights changed since the last
 * (a cache may copy the weights in decode layout: it must not outlive them, nor share them with the next cache).
 * The Llama family (GQA, and Qwen2's biases and tied head) and a model with LoRA adapters have no decode fast path:
 * their steps run the general cached path, which must equal the full recompute just the same.
 */
class DecodeTest {

    private static final GptConfig SHAPE = new GptConfig(40, 16, 2, 32, 4);

    /** Two rows: row 0 left-padded by 3 (a shorter prompt), row 1 full length. */
    private static final long[] TOKENS = {0, 0, 0, 4, 8, 15, 16, 23, 42 % 40, 7, 1, 9, 3, 7, 1, 9, 22, 5, 13, 2, 30,
        11, 4, 8};
    private static final float[] MASK = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    private static final int LENGTH = 12;
    private static final int PREFILL = 5;

    @ParameterizedTest
    @CsvSource({"FP32, seed, 1", "FP32, seed, 2", "FP32, gpt2, 1", "FP32, gpt2, 2", "BF16, seed, 1", "BF16, seed, 2",
        "BF16, gpt2, 2", "FP32, llama, 1", "FP32, llama, 2", "FP32, qwen2, 2", "BF16, llama, 2", "FP32, lora, 2"})
    void oneTokenStepsGiveTheLogitsOfAFullRecompute(Precision precision, String style, int batch) {
        GptConfig config = switch (style) {
            case "gpt2" -> SHAPE.gpt2Style();
            case "llama", "lora" -> LlamaReferenceMathTest.config("llama").withContext(16);
            case "qwen2" -> LlamaReferenceMathTest.config("qwen2").withContext(16);
            default -> SHAPE;
        };
        try (Gpt model = (config.family() == Family.LLAMA ? LlamaReferenceMathTest.large(config)
                        : ReferenceMathTest.large(config)).setPrecision(precision);
                NDManager m = NDManager.newBaseManager(); NoGrad ignored = NoGrad.enter()) {
            if (style.equals("lora")) { // adapters whose B is not zero, so the adapter path changes the logits
                model.addAdapters(new LoraSettings(2, 4, 0, java.util.List.of("q", "v", "down"), false), 3);
                model.parameters().forEach((name, w) -> {
                    if (name.contains("lora_B")) {
                        w.set(w.getManager().randomNormal(w.getShape()).mul(0.5f).toFloatArray());
                    }
                });
            }
            int first = batch == 1 ? 1 : 0; // batch 1 is row 1 alone (no padding)
            long[] ids = java.util.Arrays.copyOfRange(TOKENS, first * LENGTH, (first + batch) * LENGTH);
            float[] mask = java.util.Arrays.copyOfRange(MASK, first * LENGTH, (first + batch) * LENGTH);
            NDArray attention = batch == 1 ? null : m.create(mask, new Shape(batch, LENGTH));
            float[] full = model.forward(m.create(ids, new Shape(batch, LENGTH)), attention).toFloatArray();
            // the same steps through forward (arrays in and out) and nextLogits (generation's step buffers)
            KvCache cache = model.newCache(m, batch);
            KvCache buffered = model.newCache(m, batch);
            NDArray all = m.create(ids, new Shape(batch, LENGTH));
            for (KvCache c : new KvCache[] {cache, buffered}) {
                model.forward(all.get(new NDIndex(":, :{}", PREFILL)),
                        attention == null ? null : attention.get(new NDIndex(":, :{}", PREFILL)), c);
            }
            int vocab = config.vocabSize();
            double worst = 0; // compared below: forward with the cache, and nextLogits
            double scale = 0;
            for (int t = PREFILL; t < LENGTH; t++) {
                float[] step = model.forward(all.get(new NDIndex(":, {}:{}", t, t + 1)), null, cache).toFloatArray();
                int[] next = new int[batch];
                for (int b = 0; b < batch; b++) {
                    next[b] = (int) ids[b * LENGTH + t];
                }
                float[][] rows = model.nextLogits(next, buffered);
                for (int b = 0; b < batch; b++) {
                    for (int v = 0; v < vocab; v++) {
                        float expected = full[(b * LENGTH + t) * vocab + v];
                        worst = Math.max(worst, Math.abs(expected - step[b * vocab + v]));
                        worst = Math.max(worst, Math.abs(expected - rows[b][v]));
                        scale = Math.max(scale, Math.abs(expected));
                    }
                }
            }
            assertEquals(LENGTH, cache.length());
            assertEquals(LENGTH, buffered.length());
            // fp32: the same math in another order of operations; bf16: the same operations (decode_weights only
            // hoists the casts), so equal here
            double tolerance = 1e-5;
            System.out.printf("decode %s %s batch %d: worst %.3g scale %.3g%n", precision, style, batch, worst, scale);
            assertTrue(worst <= tolerance * scale, "worst difference " + worst + " at logit scale " + scale);
        }
    }

    @ParameterizedTest
    @CsvSource({"FP32, 1", "FP32, 2", "BF16, 1"})
    void aNewCacheSeesWeightsChangedSinceTheLastOne(Precision precision, int batch) {
        try (Gpt model = ReferenceMathTest.large(SHAPE).setPrecision(precision); Gpt other = Gpt.initialize(SHAPE, 5);
                NDManager m = NDManager.newBaseManager(); NoGrad ignored = NoGrad.enter()) {
            long[] ids = java.util.Arrays.copyOfRange(TOKENS, LENGTH, LENGTH + 6);
            long[] rows = new long[batch * 6];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(ids, 0, rows, b * 6, 6);
            }
            int[] last = new int[batch];
            java.util.Arrays.fill(last, (int) ids[5]);
            for (int round = 0; round < 2; round++) { // before and after training-like in-place updates
                float[] full = model.forward(m.create(rows, new Shape(batch, 6))).toFloatArray();
                KvCache cache = model.newCache(m.newSubManager(), batch);
                model.forward(m.create(rows, new Shape(batch, 6)).get(new NDIndex(":, :5")), null, cache);
                float[][] step = model.nextLogits(last, cache);
                int vocab = SHAPE.vocabSize();
                for (int v = 0; v < vocab; v++) {
                    float expected = full[5 * vocab + v];
                    assertTrue(Math.abs(expected - step[batch - 1][v]) <= 1e-4f * Math.max(1, Math.abs(expected)),
                            "round " + round + ", logit " + v + ": " + step[batch - 1][v] + " vs " + expected);
                }
                cache.close();
                other.parameters().forEach((name, w) -> model.parameters().get(name).set(w.toFloatArray()));
            }
        }
    }

    @org.junit.jupiter.api.Test
    void nextLogitsWithRecordingOnTakesForwardsPathAndGivesTheSameLogits() {
        try (Gpt model = ReferenceMathTest.large(SHAPE); NDManager m = NDManager.newBaseManager()) {
            NDArray prompt = m.create(java.util.Arrays.copyOf(TOKENS, 5), new Shape(1, 5));
            float[][] plain;
            try (NoGrad ignored = NoGrad.enter()) {
                KvCache cache = model.newCache(m.newSubManager(), 1);
                model.forward(prompt, null, cache);
                plain = model.nextLogits(new int[] {7}, cache);
                cache.close();
            }
            try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                KvCache cache = model.newCache(m.newSubManager(), 1);
                model.forward(prompt, null, cache);
                float[][] recorded = model.nextLogits(new int[] {7}, cache);
                org.junit.jupiter.api.Assertions.assertArrayEquals(plain[0], recorded[0], 1e-4f);
                cache.close();
            }
        }
    }
}
