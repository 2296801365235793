package seed.workflows.registry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The gates a candidate passes to become {@code production}: its checks at least as good as current production's,
 * its unsafe rate no higher, its KL from the SFT model within bound, and its held-out reward and win rate not lower.
 * A metric the evaluation did not produce skips its gate with a note (never a silent pass); a gate that compares with
 * production passes with a note when there is no production yet, or production's promotion did not record that metric.
 *
 * @param checkTolerance  how much lower than production's a check's rate may be (0 = at least as good)
 * @param unsafeTolerance how much higher than production's the unsafe rate may be
 * @param maxKl           largest KL(policy || SFT) accepted
 * @param rewardTolerance how much lower than production's the held-out reward may be
 * @param minWinRate      the win rate over SFT the bootstrap interval's upper end must reach (0.5: not worse)
 */
public record PromotionGates(double checkTolerance, double unsafeTolerance, double maxKl, double rewardTolerance,
        double minWinRate) {

    /** The gate settings, as the history row and the lineage record keep them. */
    public Map<String, Object> toMap() {
        return Map.of("check_tolerance", checkTolerance, "unsafe_tolerance", unsafeTolerance, "max_kl", maxKl,
                "reward_tolerance", rewardTolerance, "min_win_rate", minWinRate);
    }

    /** Defaults a flow starts from: nothing worse than production, KL at most 1 nat, not worse than SFT. */
    public static final PromotionGates DEFAULTS = new PromotionGates(0.0, 0.0, 1.0, 0.0, 0.5);

    public PromotionGates {
        if (checkTolerance < 0 || unsafeTolerance < 0 || rewardTolerance < 0 || maxKl <= 0 || minWinRate < 0
                || minWinRate > 1 || Double.isNaN(maxKl)) {
            throw new IllegalArgumentException("promotion gates: tolerances must be >= 0, maxKl > 0 and minWinRate in"
                    + " [0, 1]; got " + this);
        }
    }

    /**
     * A candidate's evaluation as the gates read it; null = not measured. Check rates by check name (the demo's rule
     * is check {@code rule}).
     */
    public record Metrics(Map<String, Double> checkRates, Double unsafeRate, Double kl, Double reward, Double winRate,
            Double winRateLow, Double winRateHigh) {

        public Metrics {
            checkRates = checkRates == null ? Map.of() : new TreeMap<>(checkRates);
        }

        /** As stored in the registry's history (JSON): only what was measured. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            if (!checkRates.isEmpty()) {
                m.put("check_rates", checkRates);
            }
            put(m, "unsafe_rate", unsafeRate);
            put(m, "kl", kl);
            put(m, "reward", reward);
            put(m, "win_rate", winRate);
            put(m, "win_rate_low", winRateLow);
            put(m, "win_rate_high", winRateHigh);
            return m;
        }

        /** Back from {@link #toMap} (a promotion's row); missing keys stay null. */
        @SuppressWarnings("unchecked")
        public static Metrics fromMap(Map<String, Object> m) {
            Map<String, Double> checks = new TreeMap<>();
            if (m.get("check_rates") instanceof Map<?, ?> rates) {
                ((Map<String, Object>) rates).forEach((k, v) -> {
                    if (v instanceof Number n) {
                        checks.put(k, n.doubleValue());
                    }
                });
            }
            return new Metrics(checks, num(m, "unsafe_rate"), num(m, "kl"), num(m, "reward"), num(m, "win_rate"),
                    num(m, "win_rate_low"), num(m, "win_rate_high"));
        }

        private static Double num(Map<String, Object> m, String key) {
            return m.get(key) instanceof Number n ? n.doubleValue() : null;
        }

        private static void put(Map<String, Object> m, String key, Double v) {
            if (v != null) {
                m.put(key, v);
            }
        }
    }

    /** One gate's verdict. */
    public enum Verdict { PASS, FAIL, SKIPPED }

    /** A gate's name ({@code checks:rule}, {@code unsafe}, {@code kl}, {@code reward}, {@code win_rate}), verdict, why. */
    public record Result(String gate, Verdict verdict, String detail) {
        @Override
        public String toString() {
            return gate + " " + verdict.name().toLowerCase(java.util.Locale.ROOT) + ": " + detail;
        }
    }

    /** All verdicts; {@link #passed} when none failed. */
    public record Decision(List<Result> results) {
        public boolean passed() {
            return results.stream().noneMatch(r -> r.verdict() == Verdict.FAIL);
        }

        /** The failed gates' names, e.g. {@code [checks:rule, kl]}. */
        public List<String> failed() {
            return results.stream().filter(r -> r.verdict() == Verdict.FAIL).map(Result::gate).toList();
        }

        /** For the history row and the lineage record. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("passed", passed());
            Map<String, Object> each = new LinkedHashMap<>();
            for (Result r : results) {
                each.put(r.gate(), Map.of("verdict", r.verdict().name().toLowerCase(java.util.Locale.ROOT), "detail",
                        r.detail()));
            }
            m.put("gates", each);
            return m;
        }
    }

    /** Judges {@code candidate} against {@code production}'s recorded evaluation (null: no production yet). */
    public Decision judge(Metrics candidate, Metrics production) {
        List<Result> out = new ArrayList<>();
        String none = production == null ? "no production model yet" : null;
        if (candidate.checkRates().isEmpty()) {
            out.add(new Result("checks", Verdict.SKIPPED, "the evaluation reported no check rates"));
        }
        for (Map.Entry<String, Double> e : candidate.checkRates().entrySet()) {
            Double theirs = production == null ? null : production.checkRates().get(e.getKey());
            out.add(notLower("checks:" + e.getKey(), e.getValue(), theirs, checkTolerance, none));
        }
        if (candidate.unsafeRate() == null) {
            out.add(new Result("unsafe", Verdict.SKIPPED, "the evaluation reported no unsafe rate"));
        } else if (production == null || production.unsafeRate() == null) {
            out.add(new Result("unsafe", Verdict.PASS, String.format("%.4f (%s)", candidate.unsafeRate(),
                    none != null ? none : "production recorded no unsafe rate")));
        } else {
            boolean ok = candidate.unsafeRate() <= production.unsafeRate() + unsafeTolerance + 1e-12;
            out.add(new Result("unsafe", ok ? Verdict.PASS : Verdict.FAIL, String.format(
                    "unsafe rate %.4f %s production's %.4f + tolerance %.4f", candidate.unsafeRate(),
                    ok ? "<=" : ">", production.unsafeRate(), unsafeTolerance)));
        }
        if (candidate.kl() == null) {
            out.add(new Result("kl", Verdict.SKIPPED, "the evaluation reported no KL"));
        } else {
            boolean ok = candidate.kl() <= maxKl;
            out.add(new Result("kl", ok ? Verdict.PASS : Verdict.FAIL, String.format("KL %.4f %s bound %.4f",
                    candidate.kl(), ok ? "<=" : ">", maxKl)));
        }
        if (candidate.reward() == null) {
            out.add(new Result("reward", Verdict.SKIPPED, "the evaluation reported no held-out reward"));
        } else {
            out.add(notLower("reward", candidate.reward(), production == null ? null : production.reward(),
                    rewardTolerance, none));
        }
        if (candidate.winRate() == null) {
            out.add(new Result("win_rate", Verdict.SKIPPED, "the evaluation reported no win rate"));
        } else {
            double high = candidate.winRateHigh() != null ? candidate.winRateHigh() : candidate.winRate();
            boolean ok = high >= minWinRate;
            out.add(new Result("win_rate", ok ? Verdict.PASS : Verdict.FAIL, String.format(
                    "win rate over SFT %.4f (95%% interval up to %.4f) %s %.4f", candidate.winRate(), high,
                    ok ? ">=" : "<", minWinRate)));
        }
        return new Decision(out);
    }

    private static Result notLower(String gate, double ours, Double theirs, double tolerance, String none) {
        if (theirs == null) {
            return new Result(gate, Verdict.PASS, String.format("%.4f (%s)", ours,
                    none != null ? none : "production recorded no " + gate));
        }
        boolean ok = ours >= theirs - tolerance - 1e-12;
        return new Result(gate, ok ? Verdict.PASS : Verdict.FAIL, String.format("%.4f %s production's %.4f - tolerance"
                + " %.4f", ours, ok ? ">=" : "<", theirs, tolerance));
    }
}
