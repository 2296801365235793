package seed.stages.rlhf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;

/**
 * The RL stage keeps the best policy on the selection prompts by its first check, no policy below the SFT model on any
 * other check, the SFT model being the first candidate: a later policy replaces it only when admissible and strictly
 * better, and a final policy below the kept one (SFT included) or below SFT on another check is replaced by its exact
 * weights.
 */
class BestPolicyTest {

    private static HeldOutEvaluation.Stats stats(double rate, double reward) {
        return new HeldOutEvaluation.Stats(reward, Map.of("rule", rate), 0, 10, 1, 0, List.of());
    }

    private static float[] first(Gpt policy) {
        return policy.parameters().values().iterator().next().toFloatArray();
    }

    private static void collapse(Gpt policy) {
        policy.parameters().values().forEach(p -> p.set(new float[(int) p.size()]));
    }

    @Test
    void keepsTheBestMeasuredPolicyAndRestoresItsWeights() {
        try (Gpt policy = Gpt.initialize(new GptConfig(259, 16, 1, 16, 2), 3)) {
            BestPolicy best = new BestPolicy("rule", stats(0.30, 0.0), policy);
            assertFalse(best.offer(stats(0.30, -1.0), 5, policy), "not better than SFT: SFT stays kept");
            assertTrue(best.offer(stats(0.60, 0.5), 10, policy));
            float[] kept = first(policy);
            assertFalse(best.offer(stats(0.55, 2.0), 15, policy), "a lower rate never replaces, whatever the reward");
            // training moves on and the final policy collapses
            collapse(policy);
            assertTrue(best.beats(stats(0.0, 1.0)));
            assertFalse(best.beats(stats(0.60, 1.0)), "an equally good final policy stays");
            best.restoreInto(policy);
            assertArrayEquals(kept, first(policy));
            assertEquals(10, best.iteration());
            assertEquals(0.60, best.rate());
        }
    }

    @Test
    void aRunThatNeverBeatsSftEndsWithTheSftWeights() {
        try (Gpt policy = Gpt.initialize(new GptConfig(259, 16, 1, 16, 2), 3)) {
            float[] sft = first(policy);
            BestPolicy best = new BestPolicy("rule", stats(0.30, 0.0), policy);
            collapse(policy);
            assertFalse(best.offer(stats(0.10, 5.0), 10, policy), "a higher reward alone does not beat SFT");
            assertTrue(best.beats(stats(0.10, 5.0)));
            assertTrue(best.restorable());
            best.restoreInto(policy);
            assertArrayEquals(sft, first(policy));
            assertEquals(0, best.iteration(), "iteration 0: the SFT model itself");
        }
    }

    @Test
    void aResumedRunCannotRestoreSftButStillKnowsItIsBelow() {
        try (Gpt policy = Gpt.initialize(new GptConfig(259, 16, 1, 16, 2), 3)) {
            BestPolicy best = new BestPolicy("rule", stats(0.30, 0.0), null);
            assertTrue(best.beats(stats(0.10, 0.0)));
            assertFalse(best.restorable(), "no SFT weights held: the stage warns instead");
            assertTrue(best.offer(stats(0.40, 0.0), 20, policy));
            assertTrue(best.restorable());
        }
    }

    private static HeldOutEvaluation.Stats two(double rule, double safe, double reward) {
        return new HeldOutEvaluation.Stats(reward, Map.of("rule", rule, "safe", safe), 0, 10, 1, 0, List.of());
    }

    @Test
    void everyOtherCheckIsAFloorAtTheSftRate() {
        try (Gpt policy = Gpt.initialize(new GptConfig(259, 16, 1, 16, 2), 3)) {
            float[] sft = first(policy);
            BestPolicy best = new BestPolicy("rule", two(0.20, 0.90, 0.0), policy);
            collapse(policy);
            assertFalse(best.offer(two(0.70, 0.85, 1.0), 10, policy), "politer but ruder than SFT: not admissible");
            assertEquals(List.of("safe"), best.violations(two(0.70, 0.85, 1.0)));
            assertTrue(best.beats(two(0.70, 0.85, 1.0)), "a final policy less safe than SFT is replaced");
            best.restoreInto(policy);
            assertArrayEquals(sft, first(policy), "by the SFT weights when nothing admissible beat SFT");
            assertEquals(0, best.iteration());
            assertTrue(best.offer(two(0.50, 0.90, 0.5), 20, policy), "as safe as SFT and politer: kept");
            assertFalse(best.offer(two(0.60, 0.89, 0.5), 25, policy), "higher first check, but below SFT on safe");
            assertTrue(best.offer(two(0.60, 0.97, 0.5), 30, policy));
            assertFalse(best.beats(two(0.60, 0.91, 0.5)), "an admissible final policy as good on the first check stays");
            assertTrue(best.violations(two(0.0, 0.90, 0.0)).isEmpty(), "the SFT rate itself is admissible");
        }
    }

    @Test
    void theSelectionAndReportHalvesAreDisjointAndCoverTheHeldOutPrompts() {
        List<Integer> held = List.of(10, 11, 12, 13, 14);
        assertEquals(List.of(10, 12, 14), HeldOutSplit.report(held));
        assertEquals(List.of(11, 13), HeldOutSplit.selection(held));
        assertEquals(List.of(7), HeldOutSplit.report(List.of(7)), "one prompt cannot be split: it does both");
        assertEquals(List.of(7), HeldOutSplit.selection(List.of(7)));
    }
}
