package seed.stages.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The comparison both reference-math tests make: one fixed batch through the compiled program and through an op-by-op
 * reference, then the logits and every parameter's gradient under a fixed, varied scalar loss compared to 1e-4 of
 * their scale. One copy, so a family's reference test only writes its family's forward pass.
 */
final class ReferenceComparison {

    /** A family's forward pass written out with DJL ops: logits for {@code tokens} under the optional padding mask. */
    @FunctionalInterface
    interface Reference {
        NDArray logits(Gpt model, GptConfig config, NDArray tokens, NDArray attentionMask);
    }

    /** Left padding of three positions on the first of the two rows. */
    static final float[] LEFT_PADDED = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

    private ReferenceComparison() {}

    /**
     * Runs the 2 x 12 batch whose last token is {@code lastToken} (so it spans the vocabulary) through both and asserts
     * the logits (padded query rows skipped) and all gradients agree.
     */
    static void assertProgramMatches(Gpt model, GptConfig config, Reference reference, float[] mask, long lastToken) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray tokens = m.create(new long[] {3, 7, 1, 9, 22, 5, 13, 2, 30, 11, 4, 8, 6, 6, 2, 19, 23, 1, 0, 5, 7,
                    9, 12, lastToken}, new Shape(2, 12));
            NDArray attention = mask == null ? null : m.create(mask, new Shape(2, 12));
            float[] ours;
            Map<String, float[]> ourGradients;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = model.forward(tokens, attention);
                ours = logits.toFloatArray();
                gc.backward(logits.mul(lossWeights(logits, attention)).sum());
                ourGradients = gradients(model);
            }
            float[] theirs;
            Map<String, float[]> theirGradients;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = reference.logits(model, config, tokens, attention);
                theirs = logits.toFloatArray();
                gc.backward(logits.mul(lossWeights(logits, attention)).sum());
                theirGradients = gradients(model);
            }
            assertClose("logits", theirs, ours, mask, config.vocabSize());
            for (String name : theirGradients.keySet()) {
                assertClose("gradient of " + name, theirGradients.get(name), ourGradients.get(name), null, 1);
            }
        }
    }

    /** Fixed, varied weights for a scalar loss over the logits; zero on padded positions, whose outputs are unused. */
    private static NDArray lossWeights(NDArray logits, NDArray attention) {
        NDArray w = logits.getManager().arange(0f, logits.size(), 1f).reshape(logits.getShape()).mul(1e-3f).sin();
        return attention == null ? w : w.mul(attention.expandDims(-1));
    }

    private static Map<String, float[]> gradients(Gpt model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> p : model.parameters().entrySet()) {
            try (NDArray g = p.getValue().getGradient()) {
                out.put(p.getKey(), g.toFloatArray());
                g.subi(g); // zero it for the next backward (libtorch accumulates)
            }
        }
        return out;
    }

    /** Rows of padded query positions are not compared (their outputs are never used). */
    static void assertClose(String what, float[] expected, float[] actual, float[] mask, int row) {
        double worst = 0;
        double scale = 1e-6;
        for (int i = 0; i < expected.length; i++) {
            if (mask != null && mask[i / row] == 0) {
                continue;
            }
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        assertTrue(worst <= 1e-4 * scale + 1e-6, what + ": worst difference " + worst + " at scale " + scale);
    }
}
