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
            if (!skip && !consistent(ranking, pos, ties, t)) {
                // a tie says "equally good": with a response ranked between them that is not tied to both, the
                // ranking contradicts it, and the reward model would learn both orders
                return "tie [" + t.a() + "," + t.b() + "] joins responses at places " + (pos[t.a()] + 1) + " and "
                        + (pos[t.b()] + 1) + " of the ranking; tied responses must be next to each other"
                        + " (or joined by a chain of ties through every response between them)";
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

    /**
     * Preference strength of a neighbouring pair, as Llama 2's annotators gave it: the index is the stored value.
     * Llama 2's margin loss uses 1, 2/3, 1/3 and 0 for significantly / better / slightly / negligibly better.
     */
    public static final List<String> STRENGTHS = List.of("tie", "negligibly better", "slightly better", "better",
            "significantly better");

    /** The margin a pair's strength gives (Llama 2): 0, 0, 1/3, 2/3, 1. */
    public static double margin(int strength) {
        return strength <= 1 ? 0.0 : (strength - 1) / 3.0;
    }

    /**
     * Strengths are optional; when given there is one per neighbouring pair of the ranking, 0..4, and 0 (tie) exactly
     * for the pairs that are tied. @return null when valid, else the reason
     */
    public static String checkStrengths(List<Integer> ranking, List<RankingEvent.Tie> ties, boolean skip, List<Integer> strengths) {
        if (strengths.isEmpty()) {
            return null;
        }
        if (skip) {
            return "strengths must be empty when skip is true";
        }
        if (strengths.size() != ranking.size() - 1) {
            return "strengths has " + strengths.size() + " values but the ranking has " + (ranking.size() - 1)
                    + " neighbouring pairs; give one per pair or none";
        }
        for (int p = 0; p < strengths.size(); p++) {
            Integer v = strengths.get(p);
            if (v == null || v < 0 || v > 4) {
                return "strength " + v + " of pair " + (p + 1) + " is out of range 0..4 (" + String.join(", ", STRENGTHS) + ")";
            }
            int x = ranking.get(p);
            int y = ranking.get(p + 1);
            boolean tied = ties.stream().anyMatch(t -> t.a() == x && t.b() == y || t.a() == y && t.b() == x);
            if (tied != (v == 0)) {
                return "strength of pair " + (p + 1) + " (" + x + " vs " + y + ") is " + STRENGTHS.get(v) + " but the pair is "
                        + (tied ? "" : "not ") + "tied";
            }
        }
        return null;
    }

    /**
     * Whether tie {@code t} agrees with the ranking: its responses are neighbours, or every neighbouring pair between
     * them is tied too (a = b = c may be given as [a,b], [b,c] and [a,c]).
     */
    private static boolean consistent(List<Integer> ranking, int[] pos, List<RankingEvent.Tie> ties, RankingEvent.Tie t) {
        int from = Math.min(pos[t.a()], pos[t.b()]);
        int to = Math.max(pos[t.a()], pos[t.b()]);
        for (int p = from; p < to; p++) {
            int x = ranking.get(p);
            int y = ranking.get(p + 1);
            boolean tied = false;
            for (RankingEvent.Tie o : ties) {
                if (o.a() == x && o.b() == y || o.a() == y && o.b() == x) {
                    tied = true;
                    break;
                }
            }
            if (!tied) {
                return false;
            }
        }
        return true;
    }

    /**
     * The ties that agree with the ranking (see {@link #check}), for producers that derive ties from scores and may
     * have reordered afterwards (the synthetic annotators' noise swaps neighbours), and for snapshots of rows stored
     * before the rule. Indices out of range or self-ties are left out too.
     */
    public static List<RankingEvent.Tie> consistentTies(List<Integer> ranking, List<RankingEvent.Tie> ties) {
        int k = ranking.size();
        int[] pos = new int[k];
        for (int i = 0; i < k; i++) {
            Integer r = ranking.get(i);
            if (r == null || r < 0 || r >= k) {
                return List.of();
            }
            pos[r] = i;
        }
        List<RankingEvent.Tie> ok = new java.util.ArrayList<>();
        for (RankingEvent.Tie t : ties) {
            if (t.a() >= 0 && t.a() < k && t.b() >= 0 && t.b() < k && t.a() != t.b() && consistent(ranking, pos, ties, t)) {
                ok.add(t);
            }
        }
        return ok;
    }
}
