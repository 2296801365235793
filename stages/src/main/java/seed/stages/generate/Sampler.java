package seed.stages.generate;

import java.util.SplittableRandom;

/**
 * Picks the next token from one row of logits: the penalties (repetition, frequency, presence) on the logits, then
 * temperature, then top-k, then top-p (nucleus), then min-p, then a draw (vLLM's order). Runs in Java on a float
 * array: with vocabularies of a few thousand this costs microseconds and keeps sampling exactly reproducible from a
 * seed, independent of the engine. One sampler per sequence: it remembers the tokens it drew (and the prompt's, for
 * the repetition penalty), which is what the penalties are computed from. Public so that serving's decode loop,
 * which batches sequences with different settings, gives each its own.
 */
public final class Sampler {

    private final SamplingSettings settings;
    private final SplittableRandom random;
    private final int[] prompt;
    /** How often each token id was drawn by this sampler (made on the first draw, once the vocabulary is known). */
    private int[] generated;
    /** Whether each token id is in the prompt or was drawn (for the repetition penalty). */
    private boolean[] seen;

    Sampler(SamplingSettings settings, long seed) {
        this(settings, seed, new int[0]);
    }

    /** A sampler for one sequence whose prompt is {@code prompt} (the repetition penalty counts its tokens). */
    public Sampler(SamplingSettings settings, long seed, int[] prompt) {
        this.settings = settings;
        this.random = new SplittableRandom(seed);
        this.prompt = prompt.clone();
    }

    /** Draws the next token from {@code logits} (left unchanged) and remembers it. */
    public int sample(float[] logits) {
        float[] scores = settings.penalised() ? penalised(logits) : logits;
        int token = draw(scores);
        if (generated != null) {
            generated[token]++;
            seen[token] = true;
        }
        return token;
    }

    /**
     * The logits after the penalties: Hugging Face's repetition penalty (a logit of a token seen in the prompt or
     * the output divided by the penalty when positive, multiplied when negative), then OpenAI's frequency and
     * presence penalties ({@code logit - count * frequency - (count > 0) * presence}, counts over the output).
     */
    float[] penalised(float[] logits) {
        int vocab = logits.length;
        if (generated == null) {
            generated = new int[vocab];
            seen = new boolean[vocab];
            for (int t : prompt) {
                if (t >= 0 && t < vocab) {
                    seen[t] = true;
                }
            }
        }
        float[] out = logits.clone();
        float repetition = settings.repetitionPenalty();
        for (int i = 0; i < vocab; i++) {
            if (repetition != 1 && seen[i]) {
                out[i] = out[i] > 0 ? out[i] / repetition : out[i] * repetition;
            }
            int count = generated[i];
            if (count > 0) {
                out[i] -= count * settings.frequencyPenalty() + settings.presencePenalty();
            }
        }
        return out;
    }

    private int draw(float[] logits) {
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
        if (settings.minP() > 0) {
            // the most likely token has weight exp(0) = 1, so min-p's threshold is minP itself in these weights
            for (int i = 0; i < vocab; i++) {
                if (p[i] < settings.minP()) {
                    sum -= p[i];
                    p[i] = 0;
                }
            }
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
