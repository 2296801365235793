package seed.stages.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * LoRA adapters in the model's program: they start as a no-op (B = 0), change the function once B moves, equal the
 * merged weights W + (alpha / r) B A, train alone (the base gets no gradient), and the base view without them is
 * the model they were added to.
 */
class LoraTest {

    private static final GptConfig CONFIG = LlamaReferenceMathTest.config("llama");

    @Test
    void adaptersStartAsANoOpTrainAloneAndMergeIntoTheBase() {
        try (Gpt model = LlamaReferenceMathTest.large(CONFIG); NDManager m = NDManager.newBaseManager()) {
            NDArray tokens = m.create(new long[] {3, 7, 1, 9, 22, 5, 13, 2, 30, 11}, new Shape(1, 10));
            float[] base;
            try (NoGrad ignored = NoGrad.enter()) {
                base = model.forward(tokens).toFloatArray();
            }
            int before = model.parameters().size();
            model.addAdapters(new LoraSettings(4, 8, 0, List.of("q_proj", "k", "v", "o", "gate", "up", "down"), false), 7);
            assertEquals(before + 2 * 7 * CONFIG.layers(), model.parameters().size());
            assertEquals("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                    "base_model.model." + model.adapterWeights().keySet().iterator().next());
            try (NoGrad ignored = NoGrad.enter()) {
                assertArrayEquals(base, model.forward(tokens).toFloatArray(), 0f, "B = 0: the adapters change nothing");
            }
            // one backward: only adapters receive gradients (B's first; A's once B is non-zero)
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(model.forward(tokens).square().mean());
            }
            for (Map.Entry<String, NDArray> p : model.parameters().entrySet()) {
                boolean adapter = Gpt.isAdapter(p.getKey());
                assertEquals(adapter, p.getValue().hasGradient(), p.getKey());
                if (p.getKey().contains("lora_B")) {
                    assertTrue(p.getValue().getGradient().abs().sum().getFloat() > 0, p.getKey() + " got no gradient");
                }
            }
            model.parameters().forEach((name, w) -> {
                if (name.contains("lora_B")) {
                    w.set(w.getManager().randomNormal(w.getShape()).mul(0.3f).toFloatArray());
                }
            });
            float[] adapted;
            float[] viaView;
            try (NoGrad ignored = NoGrad.enter(); Gpt view = model.withoutAdapters()) {
                adapted = model.forward(tokens).toFloatArray();
                viaView = view.forward(tokens).toFloatArray();
            }
            assertArrayEquals(base, viaView, 0f, "the view without adapters is the base model");
            double moved = 0;
            for (int i = 0; i < base.length; i++) {
                moved = Math.max(moved, Math.abs(base[i] - adapted[i]));
            }
            assertTrue(moved > 0.1, "non-zero adapters must change the logits, moved " + moved);
            try (Gpt merged = Gpt.fromWeights(CONFIG, model.mergedWeights()); NoGrad ignored = NoGrad.enter()) {
                float[] folded = merged.forward(tokens).toFloatArray();
                ReferenceComparison.assertClose("merged logits", adapted, folded, null, 1);
                assertFalse(merged.parameters().keySet().stream().anyMatch(Gpt::isAdapter));
            }
            // the model still works after the view is closed (the view does not own the parameters)
            try (NoGrad ignored = NoGrad.enter()) {
                assertArrayEquals(adapted, model.forward(tokens).toFloatArray(), 0f);
            }
        }
    }

    @Test
    void unknownTargetsAndGpt2AreRefusedByName() {
        try (Gpt llama = Gpt.initialize(CONFIG, 1); Gpt gpt2 = Gpt.initialize(new GptConfig(40, 8, 1, 16, 2), 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> llama.addAdapters(new LoraSettings(2, 0, 0, List.of("qkv"), false), 1));
            assertTrue(e.getMessage().contains("qkv") && e.getMessage().contains("q_proj"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> gpt2.addAdapters(new LoraSettings(2, 0, 0, List.of("q"), false), 1));
        }
    }
}
