package seed.stages.rlhf;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class PpoMathTest {

    @Test
    void adaptiveKlControllerMovesTowardTarget() {
        KlController c = new KlController.Adaptive(0.2, 6.0, 10000);
        KlController up = c.update(12.0, 256);           // KL double the target: error clipped to +0.2
        assertEquals(0.2 * (1 + 0.2 * 256 / 10000.0), up.coef(), 1e-12);
        KlController down = c.update(3.0, 256);          // half the target: error -0.2 ... clipped at -0.2
        assertEquals(0.2 * (1 - 0.2 * 256 / 10000.0), down.coef(), 1e-12);
        KlController slight = c.update(6.6, 100);        // error 0.1
        assertEquals(0.2 * (1 + 0.1 * 100 / 10000.0), slight.coef(), 1e-12);
        assertEquals(0.5, new KlController.Fixed(0.5).update(99, 10).coef());
    }

    @Test
    void gaeMatchesHandComputation() {
        float[] r = {0f, 0f, 1f};
        float[] v = {0.5f, 0.2f, 0.4f};
        float[][] ar = Advantages.gae(r, v, 1.0, 0.95);
        // deltas: t2 = 1 - 0.4 = 0.6; t1 = 0 + 0.4 - 0.2 = 0.2; t0 = 0 + 0.2 - 0.5 = -0.3
        assertEquals(0.6f, ar[0][2], 1e-6);
        assertEquals(0.2f + 0.95f * 0.6f, ar[0][1], 1e-6);
        assertEquals(-0.3f + 0.95f * (0.2f + 0.95f * 0.6f), ar[0][0], 1e-6);
        for (int t = 0; t < 3; t++) {
            assertEquals(ar[0][t] + v[t], ar[1][t], 1e-6);
        }
        // lambda = 1, gamma = 1: returns are the reward-to-go
        float[][] mc = Advantages.gae(r, v, 1.0, 1.0);
        assertEquals(1f, mc[1][0], 1e-6);
    }

    @Test
    void tokenRewardsAndWhitening() {
        float[] tr = Advantages.tokenRewards(2f, new float[] {-1f, -2f}, new float[] {-1.5f, -1f}, 0.1);
        assertEquals(-0.05f, tr[0], 1e-6);
        assertEquals(0.1f + 2f, tr[1], 1e-6);
        float[][] e = {{1, 2, 3}, {4, 5}};
        Advantages.whiten(e, true);
        double sum = 0, sq = 0;
        for (float[] x : e) for (float v : x) { sum += v; sq += v * v; }
        assertEquals(0, sum / 5, 1e-5);
        assertEquals(1, sq / 5, 1e-3);
    }

    @Test
    void clippedLossesBehaveAsDefined() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray mask = m.create(new float[] {1, 1, 0}, new ai.djl.ndarray.types.Shape(1, 3));
            NDArray old = m.zeros(new ai.djl.ndarray.types.Shape(1, 3));
            NDArray adv = m.create(new float[] {1, -1, 5}, new ai.djl.ndarray.types.Shape(1, 3));
            // ratio e^0.5 = 1.65 for token 0 (positive advantage: clipped at 1.2), e^-0.5 = 0.61 for token 1 (negative adv: clipped at 0.8)
            NDArray logp = m.create(new float[] {0.5f, -0.5f, 3f}, new ai.djl.ndarray.types.Shape(1, 3));
            float loss = PpoLosses.policyLoss(logp, old, adv, mask, 0.2).getFloat();
            // token0: max(-1.65, -1.2) = -1.2 ; token1: max(0.607, 0.8) = 0.8 ; mean = -0.2
            assertEquals(-0.2f, loss, 1e-5);
            assertEquals(1f, PpoLosses.clipFraction(logp, old, mask, 0.2), 1e-6);
            assertEquals(0.5f * 0.25f, PpoLosses.approxKl(logp, old, mask), 1e-6);
            NDArray v = m.create(new float[] {1f, 0f, 9f}, new ai.djl.ndarray.types.Shape(1, 3));
            NDArray ret = m.create(new float[] {0f, 0f, 0f}, new ai.djl.ndarray.types.Shape(1, 3));
            // token0: unclipped (1-0)^2 = 1, clipped (0.2)^2: max = 1; token1: 0 -> 0.5 * mean = 0.25
            assertEquals(0.25f, PpoLosses.valueLoss(v, old, ret, mask, 0.2).getFloat(), 1e-6);
            NDArray logits = m.zeros(new ai.djl.ndarray.types.Shape(1, 3, 4));
            assertEquals((float) Math.log(4), PpoLosses.entropy(logits, mask).getFloat(), 1e-5);
        }
    }

    @Test
    void ruleClassifiesStyles() {
        String p = "What is 3 plus 4?";
        assertTrue(PoliteCorrectRule.politeAndCorrect(p, "Sure! 3 plus 4 is 7. Happy to help."));
        assertEquals(PoliteCorrectRule.Category.POLITE_WRONG, PoliteCorrectRule.classify(p, "Sure! 3 plus 4 is 8. Happy to help."));
        assertEquals(PoliteCorrectRule.Category.CURT_CORRECT, PoliteCorrectRule.classify(p, "7."));
        assertEquals(PoliteCorrectRule.Category.CURT_WRONG, PoliteCorrectRule.classify(p, "6."));
        assertEquals(PoliteCorrectRule.Category.MALFORMED, PoliteCorrectRule.classify(p, "Sure! Sure! Sure!"));
        assertEquals(PoliteCorrectRule.Category.MALFORMED, PoliteCorrectRule.classify(p, "7. 7."));
    }
}
