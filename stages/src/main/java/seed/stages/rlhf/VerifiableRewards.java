package seed.stages.rlhf;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Program checks used as verifiable rewards beside the reward model, weighted as TRL's {@code reward_funcs} /
 * {@code reward_weights}: per rollout, {@code reward = model score + sum_i weight_i * check_i(prompt, response)}, where
 * {@code check_i} is 1 when the check passes and 0 when not. That sum is what the trainer shapes (missing-end penalty,
 * optional whitening, clipping) and hands to every algorithm's advantage estimation (PPO's per-token rewards, RLOO's,
 * GRPO's and Dr. GRPO's group baselines).
 *
 * <p>Sign convention: a positive weight rewards passing. To penalise something, use a check that passes when the
 * answer is good with a positive weight (e.g. {@code no-keywords=idiot,...} weight 1: a clean answer earns +1 over an
 * offensive one), or a check that passes on the bad thing with a negative weight ({@code keywords=idiot} weight -1).
 * As in the held-out evaluation, a response without the end token passes no check (a cut-off answer is not an
 * answer); prefer the first form, under which cutting an answer off never escapes a penalty.
 *
 * @param terms the weighted checks, names distinct (empty: the reward model alone)
 */
public record VerifiableRewards(List<Term> terms) {

    /** One check and its weight (finite, non-zero). */
    public record Term(Evaluator.Check check, double weight) {
        public Term {
            if (check == null) {
                throw new IllegalArgumentException("a reward check needs a check");
            }
            if (!Double.isFinite(weight) || weight == 0) {
                throw new IllegalArgumentException("reward check " + check.name() + ": the weight must be a finite "
                        + "non-zero number, got " + weight);
            }
        }
    }

    /** The combined rewards of one batch, and what each check contributed (for the logs). */
    public record Combined(float[] rewards, Map<String, Double> passRates, Map<String, Double> meanTerms) {
    }

    public VerifiableRewards {
        terms = List.copyOf(terms);
        if (terms.stream().map(t -> t.check().name()).distinct().count() != terms.size()) {
            throw new IllegalArgumentException("reward check names must be distinct: "
                    + terms.stream().map(t -> t.check().name()).toList());
        }
    }

    /** The reward model alone. */
    public static VerifiableRewards none() {
        return new VerifiableRewards(List.of());
    }

    public boolean isEmpty() {
        return terms.isEmpty();
    }

    /**
     * {@code modelScores[i] + sum_t weight_t * [check_t passes on (prompts[i], responses[i]) and ended[i]]}, with each
     * check's pass rate and mean contribution over the batch.
     */
    public Combined combine(float[] modelScores, List<String> prompts, List<String> responses, boolean[] ended) {
        int n = modelScores.length;
        if (prompts.size() != n || responses.size() != n || ended.length != n) {
            throw new IllegalArgumentException("combine: " + n + " scores but " + prompts.size() + " prompts, "
                    + responses.size() + " responses, " + ended.length + " end flags");
        }
        float[] out = modelScores.clone();
        Map<String, Double> passRates = new LinkedHashMap<>();
        Map<String, Double> meanTerms = new LinkedHashMap<>();
        for (Term t : terms) {
            int passed = 0;
            for (int i = 0; i < n; i++) {
                if (ended[i] && t.check().passes().test(prompts.get(i), responses.get(i))) {
                    out[i] += (float) t.weight();
                    passed++;
                }
            }
            double rate = n == 0 ? 0 : (double) passed / n;
            passRates.put(t.check().name(), rate);
            meanTerms.put(t.check().name(), rate * t.weight());
        }
        return new Combined(out, passRates, meanTerms);
    }

    /** Metric entries of one batch: {@code reward_check_<name>_pass} and {@code reward_check_<name>} (mean term). */
    public static void into(Map<String, Object> rec, Combined c) {
        c.passRates().forEach((name, rate) -> {
            rec.put("reward_check_" + name + "_pass", rate);
            rec.put("reward_check_" + name, c.meanTerms().get(name));
        });
    }

    /** {@code name*weight} per term, for the settings fingerprint and the logs. */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        for (Term t : terms) {
            out.add(t.check().name() + "*" + t.weight());
        }
        return out;
    }
}
