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
     * How per-token losses become one number; the published methods differ here (a closed set).
     */
    public enum Aggregation {
        /** Sum over the batch's tokens / their count (PPO and RLOO here; TRL's {@code bnpo}). */
        TOKEN_MEAN,
        /** Mean over each response's tokens, then over responses (GRPO as published; TRL's {@code grpo}). */
        SEQUENCE_MEAN,
        /** Sum over tokens / (responses x max new tokens), a constant (Dr. GRPO; TRL's {@code dr_grpo}). */
        CONSTANT;

        /** The aggregation each algorithm was published with. */
        public static Aggregation of(seed.stages.rlhf.PpoSettings.Algorithm a) {
            return switch (a) {
                case PPO, RLOO -> TOKEN_MEAN;
                case GRPO -> SEQUENCE_MEAN;
                case DR_GRPO -> CONSTANT;
            };
        }
    }

    /** Aggregates per-token values (B, T) over the masked positions; {@code maxTokens} is CONSTANT's denominator. */
    public static NDArray aggregate(NDArray perToken, NDArray mask, Aggregation a, int maxTokens) {
        return switch (a) {
            case TOKEN_MEAN -> maskedMean(perToken, mask);
            case SEQUENCE_MEAN -> perToken.mul(mask).sum(new int[] {1}).div(mask.sum(new int[] {1}).maximum(1f)).mean();
            case CONSTANT -> perToken.mul(mask).sum().div((float) (perToken.getShape().get(0) * (long) maxTokens));
        };
    }

    /** Per-token clipped surrogate max(-A * ratio, -A * clip(ratio, 1-eps, 1+eps)), ratio = exp(logp - oldLogp). */
    public static NDArray clippedSurrogate(NDArray logp, NDArray oldLogp, NDArray advantages, double clip) {
        NDArray ratio = logp.sub(oldLogp).exp();
        NDArray unclipped = advantages.neg().mul(ratio);
        NDArray clipped = advantages.neg().mul(ratio.clip(1.0 - clip, 1.0 + clip));
        return unclipped.maximum(clipped);
    }

    /**
     * Clipped surrogate: mean(max(-A * ratio, -A * clip(ratio, 1-eps, 1+eps))), ratio = exp(logp - oldLogp).
     */
    public static NDArray policyLoss(NDArray logp, NDArray oldLogp, NDArray advantages, NDArray mask, double clip) {
        return maskedMean(clippedSurrogate(logp, oldLogp, advantages, clip), mask);
    }

    /**
     * Schulman's k3 estimator of KL(policy || reference) per token, {@code exp(r) - r - 1} with
     * {@code r = refLogp - logp} (TRL's GRPO {@code per_token_kl}); >= 0, unbiased, and with gradient through
     * {@code logp}. Masked positions give 0 (the difference is masked before the exp, so padding cannot overflow).
     */
    public static NDArray k3(NDArray logp, NDArray refLogp, NDArray mask) {
        NDArray r = refLogp.sub(logp).mul(mask);
        return r.exp().sub(r).sub(1f);
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
