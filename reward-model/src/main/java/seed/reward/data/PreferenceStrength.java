package seed.reward.data;

import java.util.List;

/**
 * How much better the response above is than the one below it, as Llama 2's annotators graded every comparison, and
 * the margin each grade gives in Llama 2's margin loss -log sigmoid(r_chosen - r_rejected - m(strength)).
 *
 * <p>Values are the integers Seed's annotation page stores (0 tie, 1 negligibly better / unsure, 2 slightly better,
 * 3 better, 4 significantly better). Margins are Llama 2's "Margin Small" variant (Touvron et al. 2023, Table 27:
 * 1, 2/3, 1/3, 0 for significantly / better / slightly / negligibly better; "Margin Large" is 3, 2, 1, 0), the same
 * numbers the annotation snapshot exports as TRL's {@code margin} column, so a reward model trained here on a K-wise
 * snapshot and one trained by TRL on its pairwise export see the same margins.
 */
public final class PreferenceStrength {

    /** Names of the grades, indexed by the stored value. */
    public static final List<String> NAMES = List.of("tie", "negligibly better", "slightly better", "better",
            "significantly better");

    /** The highest grade ("significantly better"). */
    public static final int SIGNIFICANTLY_BETTER = 4;

    private PreferenceStrength() {
    }

    /** Llama 2's margin (Margin Small) of a grade: 0, 0, 1/3, 2/3, 1. */
    public static double llama2Margin(int strength) {
        if (strength < 0 || strength > SIGNIFICANTLY_BETTER) {
            throw new IllegalArgumentException("preference strength " + strength + " is out of range 0..4 ("
                    + String.join(", ", NAMES) + ")");
        }
        return strength <= 1 ? 0.0 : (strength - 1) / 3.0;
    }
}
