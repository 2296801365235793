package seed.stages.rlhf;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

import java.util.Collection;

/**
 * Gradient housekeeping for code that calls libtorch's accumulating backward itself (tests comparing gradients):
 * libtorch adds each backward pass into the kept {@code .grad} buffers (measured: three passes in three collectors
 * give 3x the gradient). The trainers do not need it: {@link seed.stages.train.AdamW#step} takes the gradients of
 * its loss as new tensors and never leaves any behind.
 */
public final class Gradients {

    private Gradients() {
    }

    /** Sets the gradient of every parameter to zero (no-op for arrays without one). */
    public static void zero(Collection<NDArray> parameters) {
        for (NDArray p : parameters) {
            if (p.hasGradient()) {
                JniUtils.zeroGrad((PtNDArray) p);
            }
        }
    }

    /** Sum of |grad| over all parameters: 0 means no gradient ever reached them (used to prove frozen models stay frozen). */
    public static double absSum(Collection<NDArray> parameters) {
        double sum = 0;
        for (NDArray p : parameters) {
            if (p.hasGradient()) {
                NDArray g;
                try {
                    g = p.getGradient();
                } catch (RuntimeException undefined) {
                    continue; // requires_grad is set but no backward ever produced a gradient
                }
                try (g; NDArray a = g.abs(); NDArray s = a.sum()) {
                    sum += s.getFloat();
                }
            }
        }
        return sum;
    }
}
