package seed.stages.rlhf;

/**
 * Per-token reward shaping, generalised advantage estimation and whitening for PPO on one batch of responses.
 * Plain float arrays: responses are short and this runs once per rollout batch, so there is nothing to gain
 * from tensor ops and a lot to gain from being easy to test.
 */
public final class Advantages {

    private Advantages() {
    }

    /**
     * The per-token rewards of one response (InstructGPT / Ziegler): -klCoef * (logp - logpRef) at every token,
     * plus the sequence score at the last token.
     */
    public static float[] tokenRewards(float score, float[] logp, float[] refLogp, double klCoef) {
        int n = logp.length;
        float[] r = new float[n];
        for (int t = 0; t < n; t++) {
            r[t] = (float) (-klCoef * (logp[t] - refLogp[t]));
        }
        if (n > 0) {
            r[n - 1] += score;
        }
        return r;
    }

    /**
     * GAE(gamma, lambda) for one episode that ends after its last token (terminal value 0).
     * Returns {advantages, returns} where returns = advantages + values (the value-function targets).
     */
    public static float[][] gae(float[] rewards, float[] values, double gamma, double lambda) {
        int n = rewards.length;
        float[] adv = new float[n];
        float[] ret = new float[n];
        double last = 0;
        for (int t = n - 1; t >= 0; t--) {
            double nextValue = t + 1 < n ? values[t + 1] : 0.0;
            double delta = rewards[t] + gamma * nextValue - values[t];
            last = delta + gamma * lambda * last;
            adv[t] = (float) last;
            ret[t] = (float) (last + values[t]);
        }
        return new float[][] {adv, ret};
    }

    /** Whitens all values of all episodes together to mean 0, std 1 (in place); {@code shiftMean=false} keeps the mean. */
    public static void whiten(float[][] episodes, boolean shiftMean) {
        double sum = 0, sq = 0;
        long n = 0;
        for (float[] e : episodes) {
            for (float v : e) {
                sum += v;
                sq += (double) v * v;
                n++;
            }
        }
        if (n < 2) {
            return;
        }
        double mean = sum / n;
        double var = Math.max(0, sq / n - mean * mean);
        double inv = 1.0 / Math.sqrt(var + 1e-8);
        for (float[] e : episodes) {
            for (int i = 0; i < e.length; i++) {
                double v = (e[i] - mean) * inv;
                e[i] = (float) (shiftMean ? v : v + mean);
            }
        }
    }

    /**
     * RLOO's baseline (Ahmadian et al. 2024): each sample's reward minus the mean reward of the other k-1 samples of
     * the same prompt. {@code rewards} holds groups of {@code k} consecutive samples; k >= 2.
     */
    public static float[] leaveOneOut(double[] rewards, int k) {
        checkGroups(rewards, k);
        float[] adv = new float[rewards.length];
        for (int g = 0; g < rewards.length; g += k) {
            double sum = 0;
            for (int i = g; i < g + k; i++) {
                sum += rewards[i];
            }
            for (int i = g; i < g + k; i++) {
                adv[i] = (float) (rewards[i] - (sum - rewards[i]) / (k - 1));
            }
        }
        return adv;
    }

    /**
     * GRPO's advantage (Shao et al. 2024): (reward - group mean) / (group std + 1e-4), the std over the k samples of a
     * prompt (unbiased, as TRL). A group whose samples all score the same gets advantage 0: nothing to learn from it.
     */
    public static float[] groupNormalised(double[] rewards, int k) {
        checkGroups(rewards, k);
        float[] adv = new float[rewards.length];
        for (int g = 0; g < rewards.length; g += k) {
            double mean = 0;
            for (int i = g; i < g + k; i++) {
                mean += rewards[i];
            }
            mean /= k;
            double var = 0;
            for (int i = g; i < g + k; i++) {
                var += (rewards[i] - mean) * (rewards[i] - mean);
            }
            double std = Math.sqrt(var / (k - 1));
            for (int i = g; i < g + k; i++) {
                adv[i] = (float) ((rewards[i] - mean) / (std + 1e-4));
            }
        }
        return adv;
    }

    /**
     * Dr. GRPO's advantage (Liu et al. 2025): reward - group mean, no division by the group's std (which up-weights
     * prompts that are nearly solved or nearly hopeless).
     */
    public static float[] groupCentred(double[] rewards, int k) {
        checkGroups(rewards, k);
        float[] adv = new float[rewards.length];
        for (int g = 0; g < rewards.length; g += k) {
            double mean = 0;
            for (int i = g; i < g + k; i++) {
                mean += rewards[i];
            }
            mean /= k;
            for (int i = g; i < g + k; i++) {
                adv[i] = (float) (rewards[i] - mean);
            }
        }
        return adv;
    }

    /**
     * GRPO with TRL's {@code scale_rewards="batch"}: (reward - group mean) / (std of the whole batch's rewards + 1e-4),
     * the std unbiased as TRL's {@code rewards.std()}. A lone bad answer's advantage then grows with how bad it is.
     */
    public static float[] batchScaled(double[] rewards, int k) {
        checkGroups(rewards, k);
        float[] centred = groupCentred(rewards, k);
        double mean = 0;
        for (double r : rewards) {
            mean += r;
        }
        mean /= rewards.length;
        double var = 0;
        for (double r : rewards) {
            var += (r - mean) * (r - mean);
        }
        double std = rewards.length > 1 ? Math.sqrt(var / (rewards.length - 1)) : 0;
        float[] adv = new float[rewards.length];
        for (int i = 0; i < adv.length; i++) {
            adv[i] = (float) (centred[i] / (std + 1e-4));
        }
        return adv;
    }

    /** As {@link #criticFree(PpoSettings.Algorithm, float[], double[], double, boolean, int, PpoSettings.RewardScale)}
     * with GRPO's published group scaling. */
    public static float[] criticFree(PpoSettings.Algorithm algorithm, float[] scores, double[] kl, double klCoef,
            boolean klInReward, int k) {
        return criticFree(algorithm, scores, kl, klCoef, klInReward, k, PpoSettings.RewardScale.GROUP);
    }

    /**
     * The per-response advantages of a critic-free method, the one place that decides what enters them: the scores,
     * minus {@code klCoef * kl[i]} only when the KL goes into the reward ({@code klInReward}); with the KL in the loss
     * (GRPO as published) the advantages are a function of the scores alone. {@code grpoScale}: GRPO's division.
     */
    public static float[] criticFree(PpoSettings.Algorithm algorithm, float[] scores, double[] kl, double klCoef,
            boolean klInReward, int k, PpoSettings.RewardScale grpoScale) {
        double[] rewards = new double[scores.length];
        for (int b = 0; b < scores.length; b++) {
            rewards[b] = scores[b] - (klInReward ? klCoef * kl[b] : 0.0);
        }
        return switch (algorithm) {
            case RLOO -> leaveOneOut(rewards, k);
            case GRPO -> switch (grpoScale) {
                case GROUP -> groupNormalised(rewards, k);
                case BATCH -> batchScaled(rewards, k);
                case NONE -> groupCentred(rewards, k);
            };
            case DR_GRPO -> groupCentred(rewards, k);
            case PPO -> throw new IllegalArgumentException("ppo's advantages come from GAE, not from the group");
        };
    }

    private static void checkGroups(double[] rewards, int k) {
        if (k < 2 || rewards.length % k != 0) {
            throw new IllegalArgumentException("need groups of k >= 2 samples, got " + rewards.length + " rewards for k = " + k);
        }
    }
}
