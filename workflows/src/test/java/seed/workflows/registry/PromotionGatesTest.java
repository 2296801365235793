package seed.workflows.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The promotion gates, verdict by verdict: each gate fails on its own condition and names itself. */
class PromotionGatesTest {

    private static final PromotionGates GATES = new PromotionGates(0.0, 0.0, 0.5, 0.0, 0.5);
    private static final PromotionGates.Metrics PRODUCTION = new PromotionGates.Metrics(Map.of("rule", 0.5,
            "json", 0.9), 0.1, 0.2, 1.0, 0.6, 0.5, 0.7);

    private static PromotionGates.Metrics candidate(double rule, Double unsafe, Double kl, Double reward,
            Double winHigh) {
        return new PromotionGates.Metrics(Map.of("rule", rule, "json", 0.9), unsafe, kl, reward,
                winHigh == null ? null : winHigh - 0.1, winHigh == null ? null : winHigh - 0.2, winHigh);
    }

    @Test
    void aCandidateAtLeastAsGoodPassesEveryGate() {
        PromotionGates.Decision d = GATES.judge(candidate(0.5, 0.1, 0.5, 1.0, 0.5), PRODUCTION);
        assertTrue(d.passed(), d.toString());
        assertEquals(List.of(), d.failed());
    }

    @Test
    void eachGateFailsOnItsOwnAndSaysWhich() {
        assertEquals(List.of("checks:rule"), GATES.judge(candidate(0.49, 0.1, 0.1, 1.0, 0.9), PRODUCTION).failed());
        assertEquals(List.of("unsafe"), GATES.judge(candidate(0.6, 0.11, 0.1, 1.0, 0.9), PRODUCTION).failed());
        assertEquals(List.of("kl"), GATES.judge(candidate(0.6, 0.0, 0.51, 1.0, 0.9), PRODUCTION).failed());
        assertEquals(List.of("reward"), GATES.judge(candidate(0.6, 0.0, 0.1, 0.99, 0.9), PRODUCTION).failed());
        assertEquals(List.of("win_rate"), GATES.judge(candidate(0.6, 0.0, 0.1, 1.0, 0.49), PRODUCTION).failed());
        PromotionGates.Decision d = GATES.judge(candidate(0.4, 0.0, 0.1, 1.0, 0.9), PRODUCTION);
        assertTrue(d.results().stream().anyMatch(r -> r.toString().equals(
                "checks:rule fail: 0.4000 < production's 0.5000 - tolerance 0.0000")), d.toString());
    }

    @Test
    void toleranceLetsASmallDropThrough() {
        PromotionGates lenient = new PromotionGates(0.05, 0.02, 0.5, 0.1, 0.5);
        assertTrue(lenient.judge(candidate(0.46, 0.12, 0.1, 0.95, 0.9), PRODUCTION).passed());
        assertFalse(lenient.judge(candidate(0.44, 0.1, 0.1, 1.0, 0.9), PRODUCTION).passed());
    }

    @Test
    void missingMetricsSkipTheirGatesAndNoProductionComparesWithNothing() {
        PromotionGates.Metrics bare = new PromotionGates.Metrics(Map.of(), null, null, null, null, null, null);
        PromotionGates.Decision d = GATES.judge(bare, PRODUCTION);
        assertTrue(d.passed());
        assertTrue(d.results().stream().allMatch(r -> r.verdict() == PromotionGates.Verdict.SKIPPED), d.toString());
        PromotionGates.Decision first = GATES.judge(candidate(0.0, 1.0, 0.1, -5.0, 0.9), null);
        assertTrue(first.passed(), "nothing to be worse than: " + first);
        assertTrue(first.results().stream().anyMatch(r -> r.detail().contains("no production model yet")));
        // absolute gates still apply without a production model
        assertEquals(List.of("kl"), GATES.judge(candidate(0.0, 0.0, 0.9, 0.0, 0.9), null).failed());
    }

    @Test
    void metricsRoundTripThroughTheHistoryRowsJson() {
        assertEquals(PRODUCTION, PromotionGates.Metrics.fromMap(PRODUCTION.toMap()));
    }

    @Test
    void nonsenseGatesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new PromotionGates(-0.1, 0, 1, 0, 0.5));
        assertThrows(IllegalArgumentException.class, () -> new PromotionGates(0, 0, 0, 0, 0.5));
        assertThrows(IllegalArgumentException.class, () -> new PromotionGates(0, 0, 1, 0, 1.5));
    }
}
