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
}
