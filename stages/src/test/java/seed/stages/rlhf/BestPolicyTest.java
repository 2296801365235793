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
 * The RL stage keeps the best held-out policy by its first check: only a policy strictly better than SFT is kept, a
 * later one replaces it only when better, and a final policy below it is replaced by its exact weights.
 */
class BestPolicyTest {

    private static HeldOutEvaluation.Stats stats(double rate, double reward) {
        return new HeldOutEvaluation.Stats(reward, Map.of("rule", rate), 0, 10, 1, 0, List.of());
    }

    @Test
    void keepsTheBestMeasuredPolicyAndRestoresItsWeights() {
        try (Gpt policy = Gpt.initialize(new GptConfig(259, 16, 1, 16, 2), 3)) {
            PpoTrainer.BestPolicy best = new PpoTrainer.BestPolicy("rule", stats(0.30, 0.0));
            assertFalse(best.offer(stats(0.30, -1.0), 5, policy), "not better than SFT: nothing kept");
            assertFalse(best.beats(stats(0.0, 0.0)), "nothing kept, nothing to restore (the stage warns instead)");
            assertTrue(best.offer(stats(0.60, 0.5), 10, policy));
            float[] kept = policy.parameters().values().iterator().next().toFloatArray();
            assertFalse(best.offer(stats(0.55, 2.0), 15, policy), "a lower rate never replaces, whatever the reward");
            // training moves on and the final policy collapses
            policy.parameters().values().forEach(p -> p.set(new float[(int) p.size()]));
            assertTrue(best.beats(stats(0.0, 1.0)));
            assertFalse(best.beats(stats(0.60, 1.0)), "an equally good final policy stays");
            best.restoreInto(policy);
            assertArrayEquals(kept, policy.parameters().values().iterator().next().toFloatArray());
            assertEquals(10, best.iteration());
            assertEquals(0.60, best.rate());
        }
    }
}
