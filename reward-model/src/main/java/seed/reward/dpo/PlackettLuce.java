package seed.reward.dpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import seed.reward.data.Ranking;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * DPO's Plackett-Luce loss over a whole K-wise ranking (Rafailov et al. 2023, appendix A.3): with the implicit rewards
 * s_i = beta (logp_i - logp_ref_i) as scores, the negative log-likelihood of the ranking under Plackett-Luce,
 * {@code -sum_k log( exp(s_{tau(k)}) / sum_{j >= k} exp(s_{tau(j)}) )}. For K = 2 it is exactly the sigmoid loss.
 * <p>
 * Ties: a ranking is read as tiers (groups of equally good responses, best tier first; a tie between two responses
 * also ties everything ranked between them, as a weak order must). Tied responses get no order between them: every
 * member of a tier is chosen against the same set, its own tier and every tier below it (Breslow's rule for tied
 * events), so the loss is symmetric in them; the last tier adds nothing (once only it is left, it is placed with
 * certainty). A ranking of one tier (all tied) adds no term, as it adds no pair to the pairwise losses. A text that
 * occurs twice in one ranking keeps its first (better) place only.
 */
public final class PlackettLuce {

    private PlackettLuce() {
    }

    /** One factor of the likelihood: response {@code chosen} is picked from {@code among} (which holds it). */
    public record Term(int chosen, int[] among) {
        public Term {
            among = among.clone();
        }
    }

    /**
     * The ranking's tiers as indices into {@code responses} (the responses of the prompt group the ranking was merged
     * into), best tier first.
     */
    public static List<int[]> tiers(Ranking ranking, List<String> responses) {
        int[] order = ranking.order();
        int k = order.length;
        // position p starts a new tier unless some tie spans the boundary between p - 1 and p
        boolean[] joined = new boolean[k];
        for (int a = 0; a < k; a++) {
            for (int b = a + 1; b < k; b++) {
                if (ranking.tied(order[a], order[b])) {
                    for (int p = a + 1; p <= b; p++) {
                        joined[p] = true;
                    }
                }
            }
        }
        List<int[]> tiers = new ArrayList<>();
        List<Integer> seen = new ArrayList<>();
        List<Integer> tier = new ArrayList<>();
        for (int p = 0; p < k; p++) {
            if (p > 0 && !joined[p] && !tier.isEmpty()) {
                tiers.add(tier.stream().mapToInt(Integer::intValue).toArray());
                tier = new ArrayList<>();
            }
            int at = responses.indexOf(ranking.responses().get(order[p]));
            if (at < 0) {
                throw new IllegalArgumentException("a ranking's response is not among its prompt group's responses");
            }
            if (!seen.contains(at)) {
                seen.add(at);
                tier.add(at);
            }
        }
        if (!tier.isEmpty()) {
            tiers.add(tier.stream().mapToInt(Integer::intValue).toArray());
        }
        return tiers;
    }

    /** The likelihood's factors of a tiered ranking: each member of every tier but the last, against it and below. */
    public static List<Term> terms(List<int[]> tiers) {
        List<Term> terms = new ArrayList<>();
        for (int t = 0; t + 1 < tiers.size(); t++) {
            int[] among = tiers.subList(t, tiers.size()).stream().flatMapToInt(Arrays::stream).toArray();
            for (int chosen : tiers.get(t)) {
                terms.add(new Term(chosen, among));
            }
        }
        return terms;
    }

    /** The negative log-likelihood summed over {@code terms}, on plain numbers (the tests' and held-out reference). */
    public static double loss(double[] scores, List<Term> terms) {
        double sum = 0;
        for (Term t : terms) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j : t.among()) {
                max = Math.max(max, scores[j]);
            }
            double z = 0;
            for (int j : t.among()) {
                z += Math.exp(scores[j] - max);
            }
            sum += max + Math.log(z) - scores[t.chosen()];
        }
        return sum;
    }

    /**
     * The same sum, differentiable through {@code scores} (N,): a (M, N) one-hot of the chosen responses and a mask of
     * each factor's set give the numerators and a log-sum-exp per factor, shifted by the set's largest score (a
     * constant, so the gradient is unchanged) for stability.
     */
    public static NDArray loss(NDManager manager, NDArray scores, List<Term> terms) {
        int n = (int) scores.size();
        int m = terms.size();
        float[] values = scores.toFloatArray();
        float[] chosen = new float[m * n];
        float[] mask = new float[m * n];
        float[] shift = new float[m];
        for (int i = 0; i < m; i++) {
            Term t = terms.get(i);
            chosen[i * n + t.chosen()] = 1f;
            float max = Float.NEGATIVE_INFINITY;
            for (int j : t.among()) {
                mask[i * n + j] = 1f;
                max = Math.max(max, values[j]);
            }
            shift[i] = max;
        }
        Shape shape = new Shape(m, n);
        NDArray s = scores.reshape(1, n);
        NDArray numerators = manager.create(chosen, shape).mul(s).sum(new int[] {1});
        NDArray c = manager.create(shift, new Shape(m, 1));
        // a score outside a factor's set may exceed its shift: zeroed by the mask before exp, its exp stays finite
        // (a minimum(0) would halve the gradient of the set's largest score, where it ties with 0)
        NDArray in = manager.create(mask, shape);
        NDArray logZ = s.sub(c).mul(in).exp().mul(in).sum(new int[] {1}).log().add(c.reshape(m));
        return logZ.sub(numerators).sum();
    }
}
