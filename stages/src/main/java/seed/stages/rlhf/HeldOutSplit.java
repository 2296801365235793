package seed.stages.rlhf;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits held-out prompts into two disjoint halves, so the measurement that picks a policy never also reports it
 * (issue 22): the RL stage's keep-best chooses among its policies on the <em>selection</em> half (odd positions of the
 * held-out list), and the numbers a run reports (the RL stage's before/after, the evaluation's) are measured on the
 * <em>report</em> half (even positions). One rule in one place, so the RL stage and the evaluation agree on it. With
 * fewer than two prompts there is nothing to split: both halves are the whole list (see {@link #disjoint}).
 */
public final class HeldOutSplit {

    private HeldOutSplit() {
    }

    /** Whether {@code n} held-out prompts give two disjoint, non-empty halves. */
    public static boolean disjoint(int n) {
        return n >= 2;
    }

    /** The prompts keep-best selects on: positions 1, 3, 5, ... (all of them when fewer than two). */
    public static <T> List<T> selection(List<T> heldOut) {
        return every(heldOut, 1);
    }

    /** The prompts the reported numbers are measured on: positions 0, 2, 4, ... (all of them when fewer than two). */
    public static <T> List<T> report(List<T> heldOut) {
        return every(heldOut, 0);
    }

    private static <T> List<T> every(List<T> all, int first) {
        if (!disjoint(all.size())) {
            return List.copyOf(all);
        }
        List<T> out = new ArrayList<>((all.size() + 1) / 2);
        for (int i = first; i < all.size(); i += 2) {
            out.add(all.get(i));
        }
        return List.copyOf(out);
    }
}
