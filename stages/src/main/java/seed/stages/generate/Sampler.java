package seed.stages.generate;

import java.util.SplittableRandom;

/**
 * Picks the next token from one row of logits: temperature, then top-k, then top-p (nucleus), then a draw. Runs in
 * Java on a float array: with vocabularies of a few thousand this costs microseconds and keeps sampling exactly
 * reproducible from a seed, independent of the engine.
 */
final class Sampler {

    private final SamplingSettings settings;
    private final SplittableRandom random;

    Sampler(SamplingSettings settings, long seed) {
        this.settings = settings;
        this.random = new SplittableRandom(seed);
    }

    int sample(float[] logits) {
        int vocab = logits.length;
        if (settings.temperature() == 0) {
            int best = 0;
            for (int i = 1; i < vocab; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            return best;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float logit : logits) {
            max = Math.max(max, logit);
        }
        double[] p = new double[vocab];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            p[i] = Math.exp((logits[i] - max) / settings.temperature());
            sum += p[i];
        }
        if (settings.topK() == 0 && settings.topP() >= 1) {
            return draw(p, sum); // plain sampling needs no ordering: the common case stays O(V)
        }
        int[] order = byProbabilityDescending(p);
        int keep = settings.topK() > 0 ? Math.min(settings.topK(), vocab) : vocab;
        if (settings.topP() < 1) {
            double cumulative = 0;
            for (int i = 0; i < keep; i++) {
                cumulative += p[order[i]] / sum;
                if (cumulative >= settings.topP()) {
                    keep = i + 1;
                    break;
                }
            }
        }
        double[] kept = new double[vocab];
        double total = 0;
        for (int i = 0; i < keep; i++) {
            kept[order[i]] = p[order[i]];
            total += p[order[i]];
        }
        return draw(kept, total);
    }

    /** Draws index i with probability weights[i] / total (lowest index first, so the draw is reproducible). */
    private int draw(double[] weights, double total) {
        double target = random.nextDouble() * total;
        int last = 0;
        for (int i = 0; i < weights.length; i++) {
            if (weights[i] > 0) {
                target -= weights[i];
                last = i;
                if (target <= 0) {
                    return i;
                }
            }
        }
        return last;
    }

    /** Token indices sorted by probability, highest first, ties by lower index (primitive sort, no boxing). */
    private static int[] byProbabilityDescending(double[] p) {
        long[] keyed = new long[p.length];
        for (int i = 0; i < p.length; i++) {
            // probabilities are non-negative, so their float bits order like the values; negate for descending
            keyed[i] = ((long) -Float.floatToIntBits((float) p[i]) << 32) | i;
        }
        java.util.Arrays.sort(keyed);
        int[] order = new int[p.length];
        for (int i = 0; i < p.length; i++) {
            order[i] = (int) keyed[i];
        }
        return order;
    }
}
