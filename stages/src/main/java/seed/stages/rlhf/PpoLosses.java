package seed.stages.rlhf;

import ai.djl.ndarray.NDArray;

/**
 * The PPO objective terms on (B, T) tensors over response tokens, with a 0/1 {@code mask} marking real tokens.
 * Each method returns a scalar NDArray that carries gradients back to {@code logp} / {@code values}.
 */
public final class PpoLosses {

    private PpoLosses() {
    }

    /** Mean of {@code x} over positions where {@code mask} is 1. */
    public static NDArray maskedMean(NDArray x, NDArray mask) {
        return x.mul(mask).sum().div(mask.sum().maximum(1f));
    }

    /**
     * Clipped surrogate: mean(max(-A * ratio, -A * clip(ratio, 1-eps, 1+eps))), ratio = exp(logp - oldLogp).
     */
    public static NDArray policyLoss(NDArray logp, NDArray oldLogp, NDArray advantages, NDArray mask, double clip) {
        NDArray ratio = logp.sub(oldLogp).exp();
        NDArray unclipped = advantages.neg().mul(ratio);
        NDArray clipped = advantages.neg().mul(ratio.clip(1.0 - clip, 1.0 + clip));
        return maskedMean(unclipped.maximum(clipped), mask);
    }

    /** Fraction of tokens whose ratio left [1-eps, 1+eps] (a health metric, no gradient). */
    public static float clipFraction(NDArray logp, NDArray oldLogp, NDArray mask, double clip) {
        try (NDArray ratio = logp.sub(oldLogp).exp();
             NDArray out = ratio.sub(1f).abs().gt(clip).toType(ai.djl.ndarray.types.DataType.FLOAT32, false)) {
            return maskedMean(out, mask).getFloat();
        }
    }

    /** The k3-free estimator 0.5 * mean((logp - oldLogp)^2): how far one PPO epoch moved the policy. */
    public static float approxKl(NDArray logp, NDArray oldLogp, NDArray mask) {
        try (NDArray d = logp.sub(oldLogp)) {
            return maskedMean(d.mul(d), mask).mul(0.5f).getFloat();
        }
    }

    /**
     * Clipped value loss: 0.5 * mean(max((v - R)^2, (oldV + clip(v - oldV, -eps, eps) - R)^2)).
     */
    public static NDArray valueLoss(NDArray values, NDArray oldValues, NDArray returns, NDArray mask, double clip) {
        NDArray vClipped = oldValues.add(values.sub(oldValues).clip(-clip, clip));
        NDArray a = values.sub(returns).square();
        NDArray b = vClipped.sub(returns).square();
        return maskedMean(a.maximum(b), mask).mul(0.5f);
    }

    /** Mean per-token entropy of the distribution given by {@code logits} (B, T, V). */
    public static NDArray entropy(NDArray logits, NDArray mask) {
        NDArray logProbs = logits.logSoftmax(-1);
        NDArray ent = logProbs.exp().mul(logProbs).sum(new int[] {-1}).neg();
        return maskedMean(ent, mask);
    }
}
