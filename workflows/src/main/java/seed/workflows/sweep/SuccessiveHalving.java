package seed.workflows.sweep;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * The rung logic of successive halving (Jamieson and Talwalkar; ASHA's promotion rule, Li et al. 2020): every trial
 * trains to the first rung's step count, the best 1/eta of each rung continue to the next rung's count (eta times
 * more steps), and the last rung trains to the full budget. Library code so the sweep task only renders inputs and
 * calls it, and so it can be tested without an engine.
 *
 * @param eta   reduction factor (keep the best 1/eta of a rung)
 * @param rungs the step count each rung trains to; increasing, the last is the full budget
 */
public record SuccessiveHalving(int eta, List<Integer> rungs) {

    public SuccessiveHalving {
        if (eta < 2) {
            throw new IllegalArgumentException("reduction factor must be >= 2, got " + eta);
        }
        if (rungs.isEmpty()) {
            throw new IllegalArgumentException("at least one rung is needed");
        }
        for (int i = 1; i < rungs.size(); i++) {
            if (rungs.get(i) <= rungs.get(i - 1)) {
                throw new IllegalArgumentException("rung steps must increase, got " + rungs);
            }
        }
        rungs = List.copyOf(rungs);
    }

    /** {@link #plan(int, int, int, int, int)} for a schedule without warm-up. */
    public static SuccessiveHalving plan(int configs, int eta, int maxSteps, int minSteps) {
        return plan(configs, eta, maxSteps, minSteps, 0);
    }

    /**
     * The rungs for {@code configs} settings: as many as halving by eta allows ({@code floor(log_eta(configs)) + 1},
     * so one trial reaches the last rung), the first at {@code minSteps}, each next eta times longer, the last exactly
     * {@code maxSteps}; fewer rungs when the first leaves no room. {@code minSteps} 0 means
     * {@code max(warmup, maxSteps / eta^(rungs-1))}: the first rung never ends inside the learning-rate warm-up, where
     * every setting is still ramping up and the ranking is noise (measured: 27 settings, 270 steps, warm-up 30: a first
     * rung at 10 steps missed the grid's best by 1.5%, at 30 it found it). A budget inside the warm-up gets one rung.
     */
    public static SuccessiveHalving plan(int configs, int eta, int maxSteps, int minSteps, int warmup) {
        if (configs < 1) {
            throw new IllegalArgumentException("a sweep needs at least one setting, got " + configs);
        }
        if (maxSteps < 1) {
            throw new IllegalArgumentException("budget (steps of a full trial) must be >= 1, got " + maxSteps);
        }
        if (eta < 2) {
            throw new IllegalArgumentException("reduction factor must be >= 2, got " + eta);
        }
        int count = 1;
        for (long n = configs; n >= eta; n /= eta) {
            count++;
        }
        long first = minSteps;
        if (minSteps == 0) {
            long div = 1;
            for (int i = 1; i < count; i++) {
                div *= eta;
            }
            first = maxSteps / div;
            while (first < 1 && count > 1) { // a budget too small for every rung: fewer rungs
                count--;
                div /= eta;
                first = maxSteps / div;
            }
            if (first < warmup) {
                minSteps = Math.min(warmup, maxSteps);
            }
        }
        if (minSteps > 0) {
            first = Math.min(minSteps, maxSteps);
            int room = 1;
            for (long s = first * eta; s <= maxSteps; s *= eta) {
                room++;
            }
            count = Math.min(count, room);
        }
        List<Integer> rungs = new ArrayList<>();
        long s = first;
        for (int i = 0; i < count - 1; i++, s *= eta) {
            rungs.add((int) s);
        }
        rungs.add(maxSteps);
        return new SuccessiveHalving(eta, rungs);
    }

    /** A trial's result at a rung: lower is better; NaN (failed or diverged) ranks last. */
    public record Score(int trial, double metric) {
    }

    /** How many of {@code n} finished trials of a rung continue: the best 1/eta, at least one. */
    public int keep(int n) {
        return Math.max(1, n / eta);
    }

    /**
     * Synchronous successive halving: once every trial of a rung finished, the ids of the best {@link #keep} (ties by
     * trial id, so the choice is reproducible; failed trials never continue).
     */
    public List<Integer> promote(List<Score> rung) {
        return ranked(rung).stream().filter(x -> !Double.isNaN(x.metric())).limit(keep(rung.size()))
                .map(Score::trial).toList();
    }

    /**
     * ASHA's asynchronous rule: with only some trials of a rung finished, those among the best floor(finished/eta)
     * that were not promoted yet may continue now, without waiting for the rest of the rung.
     */
    public List<Integer> promotable(List<Score> finished, Set<Integer> alreadyPromoted) {
        return ranked(finished).stream().filter(x -> !Double.isNaN(x.metric())).limit(finished.size() / eta)
                .map(Score::trial).filter(t -> !alreadyPromoted.contains(t)).toList();
    }

    private static List<Score> ranked(List<Score> scores) {
        return scores.stream().sorted(Comparator.comparingDouble((Score x) -> Double.isNaN(x.metric())
                ? Double.POSITIVE_INFINITY : x.metric()).thenComparingInt(Score::trial)).toList();
    }

    /** Optimizer steps of the whole sweep when each promoted trial continues from its checkpoint (none recomputed). */
    public long steps(List<Integer> trialsPerRung) {
        long total = 0;
        for (int k = 0; k < trialsPerRung.size(); k++) {
            total += (long) trialsPerRung.get(k) * (rungs.get(k) - (k == 0 ? 0 : rungs.get(k - 1)));
        }
        return total;
    }
}
