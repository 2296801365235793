package seed.stages.eval;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Win rate of one model over another on the same held-out prompts, judged per prompt by a score (e.g. the reward
 * model's reward of each model's answer), with a percentile-bootstrap 95% interval over prompts: the number the
 * promotion gates read ("the policy beats the SFT model on held-out prompts") with its uncertainty. A tie counts a
 * half win, as LLM-judge win rates do.
 *
 * @param prompts number of paired prompts
 * @param rate    wins (ties half) divided by prompts
 * @param low     2.5th percentile of the bootstrap distribution of the rate
 * @param high    97.5th percentile
 */
public record WinRate(int prompts, double rate, double low, double high) {

    /**
     * Win rate of {@code candidate[i]} over {@code baseline[i]}, with {@code resamples} bootstrap resamples of the
     * prompts drawn from {@code seed} (reproducible).
     */
    public static WinRate of(double[] candidate, double[] baseline, int resamples, long seed) {
        if (candidate.length != baseline.length || candidate.length == 0) {
            throw new IllegalArgumentException("need the same, non-zero number of scores for both models, got "
                    + candidate.length + " and " + baseline.length);
        }
        if (resamples < 1) {
            throw new IllegalArgumentException("resamples must be >= 1, got " + resamples);
        }
        int n = candidate.length;
        double[] outcome = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            outcome[i] = candidate[i] > baseline[i] ? 1 : candidate[i] == baseline[i] ? 0.5 : 0;
            total += outcome[i];
        }
        SplittableRandom random = new SplittableRandom(seed);
        double[] rates = new double[resamples];
        for (int r = 0; r < resamples; r++) {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += outcome[random.nextInt(n)];
            }
            rates[r] = sum / n;
        }
        Arrays.sort(rates);
        return new WinRate(n, total / n, percentile(rates, 0.025), percentile(rates, 0.975));
    }

    private static double percentile(double[] sorted, double q) {
        return sorted[(int) Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
    }
}
