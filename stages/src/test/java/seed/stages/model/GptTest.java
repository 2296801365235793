package seed.stages.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.checkpoint.HostTensor;
import seed.stages.checkpoint.SafeTensors;

/** The model's three forward paths agree with each other, and its weights survive a safetensors round trip. */
class GptTest {

    private static final GptConfig TINY = new GptConfig(40, 16, 2, 32, 4);

    @Test
    void kvCacheGivesTheSameLogitsAsTheFullForward() {
        try (Gpt model = Gpt.initialize(TINY, 1); NDManager m = NDManager.newBaseManager()) {
            long[] ids = {3, 7, 1, 9, 22, 5, 13, 2};
            float[] full = model.forward(m.create(ids, new Shape(1, ids.length))).toFloatArray();
            KvCache cache = model.newCache(m, 1);
            // prefill three tokens, then one at a time
            float[] prefix = model.forward(m.create(new long[] {3, 7, 1}, new Shape(1, 3)), null, cache)
                    .toFloatArray();
            assertArrayEquals(java.util.Arrays.copyOf(full, 3 * 40), prefix, 1e-4f);
            for (int t = 3; t < ids.length; t++) {
                float[] step = model.forward(m.create(new long[] {ids[t]}, new Shape(1, 1)), null, cache)
                        .toFloatArray();
                assertArrayEquals(java.util.Arrays.copyOfRange(full, t * 40, (t + 1) * 40), step, 1e-4f,
                        "position " + t);
            }
            assertEquals(ids.length, cache.length());
        }
    }

    @Test
    void leftPaddingWithAMaskChangesNothingForTheRealTokens() {
        try (Gpt model = Gpt.initialize(TINY, 2); NDManager m = NDManager.newBaseManager()) {
            long[] ids = {4, 8, 15, 16, 23};
            NDArray alone = model.forward(m.create(ids, new Shape(1, 5)));
            long[] padded = {0, 0, 0, 4, 8, 15, 16, 23};
            float[] mask = {0, 0, 0, 1, 1, 1, 1, 1};
            NDArray withPad = model.forward(m.create(padded, new Shape(1, 8)), m.create(mask, new Shape(1, 8)));
            assertArrayEquals(alone.toFloatArray(), withPad.get(new NDIndex(":, 3:, :")).toFloatArray(), 1e-4f);
        }
    }

    @Test
    void weightsRoundTripThroughSafetensors(@TempDir Path dir) throws Exception {
        try (Gpt model = Gpt.initialize(TINY, 3); NDManager m = NDManager.newBaseManager()) {
            Path file = dir.resolve("model.safetensors");
            SafeTensors.write(file, model.weights(), Map.of("producer", "test"));
            Map<String, HostTensor> read = SafeTensors.read(file);
            try (Gpt loaded = Gpt.fromWeights(TINY, read)) {
                NDArray ids = m.create(new long[] {1, 2, 3}, new Shape(1, 3));
                assertArrayEquals(model.forward(ids).toFloatArray(), loaded.forward(ids).toFloatArray(), 0f);
            }
        }
    }

    @Test
    void wrongShapesAreNamed() {
        try (Gpt model = Gpt.initialize(TINY, 4)) {
            Map<String, HostTensor> weights = model.weights();
            GptConfig wider = new GptConfig(40, 16, 2, 64, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Gpt.fromWeights(wider, weights));
            assertTrue(e.getMessage().contains("wte.weight") && e.getMessage().contains("d-model 64"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new GptConfig(40, 16, 2, 30, 4), "heads must divide d-model");
    }

    @Test
    void tooLongSequencesAreRejected() {
        try (Gpt model = Gpt.initialize(TINY, 5); NDManager m = NDManager.newBaseManager()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.forward(m.create(new long[17], new Shape(1, 17))));
            assertTrue(e.getMessage().contains("context"), e.getMessage());
        }
    }

    @Test
    void bf16LogitsTrackFp32AndGradientsReachTheFp32MasterWeights() {
        try (Gpt model = Gpt.initialize(TINY, 6); NDManager m = NDManager.newBaseManager()) {
            NDArray ids = m.create(new long[] {5, 9, 2, 33, 17, 4}, new Shape(1, 6));
            float[] fp32 = model.forward(ids).toFloatArray();
            model.setPrecision(Precision.BF16);
            float[] bf16;
            try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                NDArray logits = model.forward(ids);
                bf16 = logits.toFloatArray();
                gc.backward(logits.square().mean());
            }
            double worst = 0;
            double scale = 0;
            for (int i = 0; i < fp32.length; i++) {
                worst = Math.max(worst, Math.abs(fp32[i] - bf16[i]));
                scale = Math.max(scale, Math.abs(fp32[i]));
            }
            // bf16 keeps 8 bits of mantissa: products agree to ~1% of the logits' scale, and are not identical
            assertTrue(worst < 0.03 * scale && worst > 0, "worst difference " + worst + " at scale " + scale);
            for (Map.Entry<String, NDArray> p : model.parameters().entrySet()) {
                NDArray grad = p.getValue().getGradient();
                assertEquals(ai.djl.ndarray.types.DataType.FLOAT32, grad.getDataType(), p.getKey());
                assertTrue(grad.abs().sum().getFloat() > 0, "no gradient reached " + p.getKey());
            }
        }
    }

    /**
     * bf16 training writes attention out (libtorch 2.7.1's bf16 flash-attention backward is slow on CPU), while bf16
     * inference keeps the fused kernel: both must compute the same function, padded rows included, and the written-out
     * path's gradients must point where fp32's do.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"gpt2", "llama"})
    void bf16TrainingAttentionAgreesWithTheFusedKernelAndWithFp32Gradients(String family) {
        GptConfig config = family.equals("gpt2") ? TINY : GptConfig.llama(TINY.vocabSize(), TINY.context(),
                TINY.layers(), TINY.dModel(), TINY.heads(), TINY.heads() / 2, 0);
        try (Gpt model = Gpt.initialize(config, 8); NDManager m = NDManager.newBaseManager()) {
            NDArray ids = m.create(new long[] {0, 0, 5, 9, 2, 33, 17, 4, 8, 1, 30, 12, 6, 19, 3, 27}, new Shape(2, 8));
            NDArray mask = m.create(new float[] {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, new Shape(2, 8));
            for (NDArray attention : new NDArray[] {null, mask}) {
                Map<String, float[]> fp32 = gradients(model, ids, attention);
                model.setPrecision(Precision.BF16);
                float[] fused;
                try (NoGrad ignored = NoGrad.enter()) {
                    fused = model.forward(ids, attention).toFloatArray();
                }
                float[] written;
                try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                    written = model.forward(ids, attention).toFloatArray();
                }
                Map<String, float[]> bf16 = gradients(model, ids, attention);
                model.setPrecision(Precision.FP32);
                double worst = 0;
                double scale = 0;
                for (int i = 0; i < fused.length; i++) {
                    worst = Math.max(worst, Math.abs(fused[i] - written[i]));
                    scale = Math.max(scale, Math.abs(fused[i]));
                }
                String what = attention == null ? "causal" : "padded";
                assertTrue(worst < 0.02 * scale, what + ": fused vs written-out attention differ by " + worst);
                for (String name : fp32.keySet()) {
                    double cosine = cosine(fp32.get(name), bf16.get(name));
                    assertTrue(cosine > 0.99, what + ": bf16 gradient of " + name + " has cosine " + cosine);
                }
            }
        }
    }

    /**
     * Gradients of a fixed loss over the real (unpadded) positions, as the trainers count them, at the model's
     * current precision; the parameters' gradients are cleared after. (A padding query attends to nothing real, so
     * its output and the gradient through it are an artifact of whichever kernel computed them.)
     */
    private static Map<String, float[]> gradients(Gpt model, NDArray ids, NDArray mask) {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
            NDArray logits = model.forward(ids, mask);
            NDArray picked = logits.logSoftmax(-1).get(new NDIndex(":, :, 3"));
            gc.backward(mask == null ? picked.mean().neg() : picked.mul(mask).sum().div(mask.sum()).neg());
        }
        for (Map.Entry<String, NDArray> p : model.parameters().entrySet()) {
            out.put(p.getKey(), p.getValue().getGradient().toFloatArray());
        }
        seed.stages.rlhf.Gradients.zero(model.parameters().values());
        return out;
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 && nb == 0 ? 1 : dot / Math.sqrt(na * nb);
    }

    @Test
    void aGpuThatIsNotThereIsAClearError() {
        assertEquals(ai.djl.Device.cpu(), Devices.parse("cpu"));
        assertThrows(IllegalArgumentException.class, () -> Devices.parse("tpu"));
        if (Devices.gpuCount() == 0) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Devices.parse("gpu:0"));
            assertTrue(e.getMessage().contains("no GPU"), e.getMessage());
            assertEquals(ai.djl.Device.cpu(), Devices.parse("auto"));
        } else {
            assertEquals(ai.djl.Device.gpu(0), Devices.parse("gpu"));
        }
    }
}
