package seed.stages.serve;

/** Log-probabilities from a row of logits, for the API's {@code logprobs}: the model's own, before any sampling. */
final class LogProbs {

    private LogProbs() {
    }

    /** log(sum(exp(row))), computed stably. */
    static double logSumExp(float[] row) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : row) {
            sum += Math.exp(v - max);
        }
        return max + Math.log(sum);
    }

    /** The {@code k} most likely tokens, most likely first (ties: lower id first). */
    static Sequence.Alternative[] top(float[] row, double norm, int k) {
        k = Math.min(k, row.length);
        Sequence.Alternative[] out = new Sequence.Alternative[Math.max(0, k)];
        boolean[] taken = new boolean[row.length];
        for (int j = 0; j < out.length; j++) {
            int best = -1;
            for (int i = 0; i < row.length; i++) {
                if (!taken[i] && (best < 0 || row[i] > row[best])) {
                    best = i;
                }
            }
            taken[best] = true;
            out[j] = new Sequence.Alternative(best, (float) (row[best] - norm));
        }
        return out;
    }
}
