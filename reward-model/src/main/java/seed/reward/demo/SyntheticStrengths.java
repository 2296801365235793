package seed.reward.demo;

import seed.reward.data.PreferenceStrength;
import seed.reward.data.Ranking;

import java.util.List;
import java.util.function.ToIntBiFunction;

/**
 * Preference strengths for synthetic annotators, as Llama 2's annotators graded each comparison: a neighbouring pair
 * of the ranking is graded by how far apart the rule scores the two responses (score gap 0 tie, 1 negligibly better,
 * 2 slightly better, 3 better, 4 significantly better: the rules' five levels give gaps 1-4 for Llama 2's four
 * grades); a pair the annotator put in the wrong order (noise) is graded "negligibly better / unsure". Lets the margin
 * loss be trained and checked without humans.
 */
public final class SyntheticStrengths {

    private SyntheticStrengths() {
    }

    /** The ranking with Llama 2's margin of every neighbouring pair, graded by {@code rule} (higher is better). */
    public static Ranking grade(Ranking r, ToIntBiFunction<String, String> rule) {
        int[] order = r.order();
        double[] margins = new double[order.length - 1];
        for (int p = 0; p < margins.length; p++) {
            margins[p] = PreferenceStrength.llama2Margin(strength(r, order[p], order[p + 1], rule));
        }
        return r.withMargins(margins);
    }

    /** Every ranking graded by {@link #grade}. */
    public static List<Ranking> grade(List<Ranking> rankings, ToIntBiFunction<String, String> rule) {
        return rankings.stream().map(r -> grade(r, rule)).toList();
    }

    /** The grade of response {@code above} over {@code below} (0 exactly when the ranking ties them). */
    static int strength(Ranking r, int above, int below, ToIntBiFunction<String, String> rule) {
        if (r.tied(above, below)) {
            return 0;
        }
        int gap = rule.applyAsInt(r.prompt(), r.responses().get(above)) - rule.applyAsInt(r.prompt(), r.responses().get(below));
        return Math.max(1, Math.min(PreferenceStrength.SIGNIFICANTLY_BETTER, gap));
    }
}
