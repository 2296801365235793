package seed.stages.rlhf;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import seed.stages.generate.Generation;
import seed.stages.model.Gpt;

import java.util.List;

/**
 * One iteration's sampled sequences as the arrays the update needs, row-major, left-padded so every response ends at
 * the last position. Per-position arrays are (B, L-1) in the shifted frame: position t predicts token t+1.
 * Rows {@code [g * k, (g + 1) * k)} are the k samples of prompt g (the group RLOO and GRPO compare within).
 */
final class RolloutBatch {

    final int batch;
    final int length; // L: prompt + response, left-padded
    final long[] tokens; // (B, L)
    final float[] attention; // (B, L)
    final long[] targets; // (B, L-1)
    final float[] responseMask; // (B, L-1)
    final int[] responseLength;
    float[] oldLogp, refLogp, oldValues, advantages, returns; // (B, L-1), filled by the trainer

    RolloutBatch(List<Generation> gens, int padId) {
        batch = gens.size();
        int longest = 0;
        for (Generation g : gens) {
            longest = Math.max(longest, g.promptTokens().length + g.tokens().length);
        }
        length = longest;
        int l1 = length - 1;
        tokens = new long[batch * length];
        attention = new float[batch * length];
        targets = new long[batch * l1];
        responseMask = new float[batch * l1];
        responseLength = new int[batch];
        for (int b = 0; b < batch; b++) {
            int[] p = gens.get(b).promptTokens();
            int[] r = gens.get(b).tokens();
            int pad = length - p.length - r.length;
            for (int t = 0; t < length; t++) {
                int i = t - pad;
                tokens[b * length + t] = i < 0 ? padId : i < p.length ? p[i] : r[i - p.length];
                attention[b * length + t] = i < 0 ? 0f : 1f;
            }
            for (int t = 0; t < l1; t++) {
                targets[b * l1 + t] = tokens[b * length + t + 1];
                responseMask[b * l1 + t] = t + 1 >= length - r.length ? 1f : 0f;
            }
            responseLength[b] = r.length;
        }
    }

    /** Log-probabilities of the targets (B, L-1), the last hidden states before the read-out, and the logits. */
    record Forward(NDArray logp, NDArray hidden, NDArray logProbs) {
    }

    /**
     * A forward of {@code model} over {@code rows} (all rows when null). The logits are divided by the sampling
     * temperature before the softmax, so these are the log-probabilities of the distribution the rollouts were drawn
     * from (and the KL to the reference is measured between the two tempered distributions).
     */
    Forward forward(NDManager m, Gpt model, int[] rows, float temperature) {
        int n = rows == null ? batch : rows.length;
        NDArray tok = m.create(select(tokens, rows, length), new Shape(n, length));
        NDArray att = m.create(select(attention, rows, length), new Shape(n, length));
        NDArray hidden = model.hidden(tok, att).get(new NDIndex(":, :-1, :"));
        NDArray logits = model.logits(hidden);
        NDArray logProbs = (temperature == 1f ? logits : logits.div(temperature)).logSoftmax(-1);
        NDArray logp = logProbs.gather(m.create(select(targets, rows, length - 1), new Shape(n, length - 1, 1)), -1).squeeze(-1);
        return new Forward(logp, hidden, logProbs);
    }

    /** A per-position array of the given rows as a (n, L-1) tensor. */
    NDArray rows(NDManager m, float[] perPosition, int[] rows) {
        int n = rows == null ? batch : rows.length;
        return m.create(select(perPosition, rows, length - 1), new Shape(n, length - 1));
    }

    static float[] select(float[] a, int[] rows, int width) {
        if (rows == null) {
            return a;
        }
        float[] out = new float[rows.length * width];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(a, rows[i] * width, out, i * width, width);
        }
        return out;
    }

    static long[] select(long[] a, int[] rows, int width) {
        if (rows == null) {
            return a;
        }
        long[] out = new long[rows.length * width];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(a, rows[i] * width, out, i * width, width);
        }
        return out;
    }

    /** Each response's advantage averaged over its tokens (the one advantage of a critic-free method). */
    double[] meanAdvantages() {
        double[] out = new double[batch];
        for (int b = 0; b < batch; b++) {
            float[] a = responsePart(advantages, b);
            double sum = 0;
            for (float v : a) {
                sum += v;
            }
            out[b] = a.length == 0 ? 0 : sum / a.length;
        }
        return out;
    }

    /** Response-token values of one row, in order (the last {@code responseLength[row]} positions). */
    float[] responsePart(float[] perPosition, int row) {
        int l1 = length - 1;
        int n = responseLength[row];
        float[] out = new float[n];
        System.arraycopy(perPosition, row * l1 + l1 - n, out, 0, n);
        return out;
    }

    /** Writes {@code values} into the response positions of {@code row} of {@code perPosition}. */
    void setResponsePart(float[] perPosition, int row, float[] values) {
        int l1 = length - 1;
        System.arraycopy(values, 0, perPosition, row * l1 + l1 - responseLength[row], responseLength[row]);
    }

    /** Sum over the response of (logp - refLogp) per row: the KL estimate per response. */
    double[] klPerResponse() {
        double[] kl = new double[batch];
        for (int b = 0; b < batch; b++) {
            float[] lp = responsePart(oldLogp, b), ref = responsePart(refLogp, b);
            for (int j = 0; j < lp.length; j++) {
                kl[b] += lp[j] - ref[j];
            }
        }
        return kl;
    }
}
