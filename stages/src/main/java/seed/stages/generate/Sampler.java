package seed.stages.generate;

import java.util.Arrays;
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
        Integer[] order = new Integer[vocab];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            order[i] = i;
            max = Math.max(max, logits[i]);
        }
        double[] p = new double[vocab];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            p[i] = Math.exp((logits[i] - max) / settings.temperature());
            sum += p[i];
        }
        Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
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
        double total = 0;
        for (int i = 0; i < keep; i++) {
            total += p[order[i]];
        }
        double draw = random.nextDouble() * total;
        for (int i = 0; i < keep; i++) {
            draw -= p[order[i]];
            if (draw <= 0) {
                return order[i];
            }
        }
        return order[keep - 1];
    }
}
