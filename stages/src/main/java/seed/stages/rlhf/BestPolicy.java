package seed.stages.rlhf;

import java.util.List;
import java.util.Map;
import seed.stages.checkpoint.HostTensor;
import seed.stages.model.Gpt;

/**
 * Keep-best of the RL stage (issue 22): the best policy seen on the selection prompts, kept as host weights, judged
 * by every configured check. The first check ranks the candidates (a higher rate wins, the reward model's mean score
 * breaks ties); every other check is a constraint: a candidate whose rate on any of them is below the SFT model's is
 * not admissible, whatever its first check says. So a run whose first check is "polite and correct" and whose second
 * is "no offensive words" never keeps a politer but ruder policy than SFT. The SFT model is the first candidate
 * (iteration 0): a later policy replaces it only when admissible and strictly better; a final policy that is not
 * admissible, or below the kept one on the first check, is replaced by the kept one, so a run never ends below SFT on
 * the selection prompts without saying so.
 */
final class BestPolicy {
    private final String check;
    private final Map<String, Double> sftRates;
    private double rate;
    private double reward;
    private int iteration;
    private Map<String, HostTensor> weights;
    private Map<String, HostTensor> adapters;

    /**
     * {@code check}: the first check (ranks); {@code sft}: the SFT model's selection measurement, whose other checks'
     * rates are the floors; {@code sftPolicy}: the policy holding the SFT weights now, or null when they cannot be had
     * (a resume).
     */
    BestPolicy(String check, HeldOutEvaluation.Stats sft, Gpt sftPolicy) {
        this.check = check;
        this.sftRates = Map.copyOf(sft.checks());
        this.rate = sft.checks().get(check);
        this.reward = sft.meanReward();
        if (sftPolicy != null) {
            keep(sftPolicy);
        }
    }

    String check() {
        return check;
    }

    double rate() {
        return rate;
    }

    int iteration() {
        return iteration;
    }

    /**
     * The checks other than the first on which {@code st} falls below the SFT model (empty: admissible). The SFT
     * model itself is always admissible.
     */
    List<String> violations(HeldOutEvaluation.Stats st) {
        return sftRates.keySet().stream().filter(c -> !c.equals(check))
                .filter(c -> st.checks().get(c) < sftRates.get(c)).sorted().toList();
    }

    /**
     * True when the kept policy (SFT included) should replace {@code st} (the final policy): the final policy is not
     * admissible, or the kept one has a strictly higher first-check rate. The reward alone never replaces it.
     */
    boolean beats(HeldOutEvaluation.Stats st) {
        return !violations(st).isEmpty() || rate > st.checks().get(check);
    }

    /** Whether the kept policy's weights are held (false only for SFT on a resumed run). */
    boolean restorable() {
        return weights != null;
    }

    /** Keeps {@code policy} (measured {@code st} at iteration {@code at}) when admissible and better; returns whether. */
    boolean offer(HeldOutEvaluation.Stats st, int at, Gpt policy) {
        double r = st.checks().get(check);
        if (!violations(st).isEmpty() || !(r > rate || (r == rate && st.meanReward() > reward))) {
            return false;
        }
        rate = r;
        reward = st.meanReward();
        iteration = at;
        keep(policy);
        return true;
    }

    private void keep(Gpt policy) {
        weights = policy.weights();
        adapters = policy.lora() == null ? null : policy.adapterWeights();
    }

    void restoreInto(Gpt policy) {
        policy.loadWeights(weights);
        if (adapters != null) {
            policy.loadAdapterWeights(adapters);
        }
    }
}
