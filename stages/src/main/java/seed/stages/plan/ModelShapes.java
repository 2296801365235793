package seed.stages.plan;

import seed.stages.model.Architecture;
import seed.stages.model.Family;
import seed.stages.model.GptConfig;

/**
 * Suggests a transformer shape (layers, width, heads) of one of Seed's families whose parameter count is closest to
 * a target, counting parameters with the model's own parameter shapes ({@link GptConfig#parameterCount()}), so
 * embeddings, the head and the family's MLP width are counted as the model will have them. Among shapes near the
 * target, a width of ~64 per layer is preferred (GPT-2 small's 768 / 12; Chinchilla's models span ~50-130), with
 * heads of width 64 (32 below a width of 128).
 */
public final class ModelShapes {

    /** A suggested shape and its exact parameter count. */
    public record Shape(Family family, int layers, int dModel, int heads, long params) {
        /** The configuration for this shape. */
        public GptConfig config(int vocab, int context) {
            return new Architecture(family, 0, 0, 0).config(vocab, context, layers, dModel, heads);
        }
    }

    private ModelShapes() {
    }

    /** The shape of {@code family} closest to {@code targetParams} at this vocabulary and context. */
    public static Shape suggest(Family family, double targetParams, int vocab, int context) {
        Shape best = null;
        double bestCost = Double.POSITIVE_INFINITY;
        for (int layers = 1; layers <= 64; layers++) {
            for (int width = 32; width <= 16_384; width += width < 128 ? 32 : 64) {
                int headWidth = width < 128 ? 32 : 64;
                int heads = Math.max(1, width / headWidth);
                long params = new Architecture(family, 0, 0, 0).config(vocab, context, layers, width, heads)
                        .parameterCount();
                double cost = Math.abs(Math.log(params / targetParams))
                        + 0.05 * Math.abs(Math.log((double) width / layers / 64));
                if (cost < bestCost) {
                    bestCost = cost;
                    best = new Shape(family, layers, width, heads, params);
                }
                if (params > targetParams * 4) {
                    break; // wider only grows
                }
            }
        }
        return best;
    }

    /** Training FLOPs per token of a shape: 6 N plus attention's 12 L d T (Kaplan et al. 2020, forward x 3). */
    public static double flopsPerToken(GptConfig c) {
        return 6.0 * c.parameterCount() + 12.0 * c.layers() * c.dModel() * c.context();
    }
}
