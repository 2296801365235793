package seed.annotation.core;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The content rules every ranking must satisfy for an item with K responses; shared by the HTTP API (reject with
 * 4xx) and the ingester (dead-letter) so both refuse exactly the same things.
 */
public final class RankingRules {

    private RankingRules() {
    }

    /** @return null when valid, else the reason naming the field and what is wrong */
    public static String check(List<Integer> ranking, List<RankingEvent.Tie> ties, boolean skip, List<Integer> unsafe, int k) {
        if (skip) {
            if (!ranking.isEmpty()) {
                return "ranking must be empty when skip is true";
            }
            if (!ties.isEmpty()) {
                return "ties must be empty when skip is true";
            }
        } else {
            if (ranking.size() != k) {
                return "ranking has " + ranking.size() + " indices but the item has " + k
                        + " responses; it must be a permutation of 0.." + (k - 1);
            }
            boolean[] seen = new boolean[k];
            for (Integer idx : ranking) {
                if (idx == null || idx < 0 || idx >= k) {
                    return "ranking index " + idx + " is out of range 0.." + (k - 1);
                }
                if (seen[idx]) {
                    return "ranking repeats index " + idx + "; it must be a permutation of 0.." + (k - 1);
                }
                seen[idx] = true;
            }
        }
        int[] pos = new int[Math.max(k, 0)];
        for (int i = 0; !skip && i < ranking.size(); i++) {
            pos[ranking.get(i)] = i;
        }
        Set<Long> pairs = new HashSet<>();
        for (RankingEvent.Tie t : ties) {
            if (t.a() < 0 || t.a() >= k || t.b() < 0 || t.b() >= k) {
                return "tie [" + t.a() + "," + t.b() + "] has an index out of range 0.." + (k - 1);
            }
            if (t.a() == t.b()) {
                return "tie [" + t.a() + "," + t.b() + "] pairs a response with itself";
            }
            if (Math.abs(pos[t.a()] - pos[t.b()]) != 1) {
                // a tie says "equally good": with anything ranked between them the ranking contradicts it, and
                // the reward model would learn both orders
                return "tie [" + t.a() + "," + t.b() + "] joins responses at places " + (pos[t.a()] + 1) + " and "
                        + (pos[t.b()] + 1) + " of the ranking; tied responses must be next to each other";
            }
            long key = (long) Math.min(t.a(), t.b()) * 1_000_003L + Math.max(t.a(), t.b());
            if (!pairs.add(key)) {
                return "tie [" + t.a() + "," + t.b() + "] is given twice";
            }
        }
        Set<Integer> u = new HashSet<>();
        for (Integer idx : unsafe) {
            if (idx == null || idx < 0 || idx >= k) {
                return "unsafe index " + idx + " is out of range 0.." + (k - 1);
            }
            if (!u.add(idx)) {
                return "unsafe index " + idx + " is given twice";
            }
        }
        return null;
    }
}
