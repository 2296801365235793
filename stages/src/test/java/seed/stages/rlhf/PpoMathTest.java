package seed.stages.rlhf;

import seed.stages.demo.PoliteCorrectRule;
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

    /** RLOO (Ahmadian et al. 2024): A_i = r_i - (sum_j r_j - r_i) / (k - 1), per prompt group. */
    @Test
    void rlooLeaveOneOutBaselineByHand() {
        float[] a = Advantages.leaveOneOut(new double[] {1, 2, 4, 0, 0, 3}, 3);
        // group 1: 1 - (2+4)/2 = -2 ; 2 - (1+4)/2 = -0.5 ; 4 - (1+2)/2 = 2.5 ; group 2: 0 - 1.5, 0 - 1.5, 3 - 0
        float[] want = {-2f, -0.5f, 2.5f, -1.5f, -1.5f, 3f};
        assertArrayEquals(want, a, 1e-6f);
        // RLOO keeps its KL in the reward: r = score - beta * KL(response)
        float[] withKl = Advantages.criticFree(PpoSettings.Algorithm.RLOO, new float[] {1, 2}, new double[] {2, 0}, 0.5, true, 2);
        // rewards 0 and 2: 0 - 2 = -2, 2 - 0 = 2
        assertArrayEquals(new float[] {-2f, 2f}, withKl, 1e-6f);
    }

    /**
     * GRPO (Shao et al. 2024; TRL: advantages = (r - mean) / (std + 1e-4), torch's unbiased std): the scores alone,
     * whatever the KL of each response; Dr. GRPO: r - mean.
     */
    @Test
    void grpoAdvantagesAreTheGroupZScoreOfTheScoresAlone() {
        float[] scores = {1, 2, 4, 5};
        double[] kl = {10, 0, 3, 0.5};
        float[] a = Advantages.criticFree(PpoSettings.Algorithm.GRPO, scores, kl, 0.7, false, 4);
        // mean 3; deviations -2 -1 1 2; unbiased var (4+1+1+4)/3 = 10/3; std 1.8257418583505538
        double std = Math.sqrt(10.0 / 3.0);
        float[] want = {(float) (-2 / (std + 1e-4)), (float) (-1 / (std + 1e-4)), (float) (1 / (std + 1e-4)),
                (float) (2 / (std + 1e-4))};
        assertArrayEquals(want, a, 1e-6f);
        assertEquals(-1.0953, a[0], 1e-4);
        // a group that scores the same everywhere learns nothing
        assertArrayEquals(new float[] {0, 0}, Advantages.groupNormalised(new double[] {3, 3}, 2), 0f);
        // the explicit old behaviour (KL in the reward) subtracts beta * KL before the z-score: other values
        float[] old = Advantages.criticFree(PpoSettings.Algorithm.GRPO, scores, kl, 0.7, true, 4);
        double[] r = {1 - 7, 2, 4 - 2.1, 5 - 0.35};
        assertArrayEquals(Advantages.groupNormalised(r, 4), old, 1e-6f);
        // Dr. GRPO: no std division
        assertArrayEquals(new float[] {-2, -1, 1, 2},
                Advantages.criticFree(PpoSettings.Algorithm.DR_GRPO, scores, kl, 0.7, false, 4), 1e-6f);
        // placement defaults: GRPO's KL goes into the loss, PPO's and RLOO's into the reward
        assertEquals(PpoSettings.KlPlacement.LOSS_K3, PpoSettings.Algorithm.GRPO.defaultKlPlacement());
        assertEquals(PpoSettings.KlPlacement.REWARD, PpoSettings.Algorithm.RLOO.defaultKlPlacement());
        assertEquals(PpoSettings.Algorithm.DR_GRPO, PpoSettings.Algorithm.parse("dr-grpo"));
    }

    /**
     * TRL's GRPO loss on a fixed batch: per token -min(ratio * A, clip(ratio) * A) + beta * (exp(ref - logp) - (ref -
     * logp) - 1), averaged per response then over responses (loss type grpo); Dr. GRPO: summed over a constant.
     */
    @Test
    void grpoLossWithK3KlTermByHand() {
        try (NDManager m = NDManager.newBaseManager()) {
            ai.djl.ndarray.types.Shape shape = new ai.djl.ndarray.types.Shape(2, 3);
            // row 0: two response tokens (position 0 is prompt), row 1: three
            NDArray mask = m.create(new float[] {0, 1, 1, 1, 1, 1}, shape);
            NDArray logp = m.create(new float[] {-9f, -1f, -2f, -0.5f, -1f, -1.5f}, shape);
            NDArray old = logp.duplicate(); // first epoch: ratio 1
            NDArray ref = m.create(new float[] {40f, -1.5f, -2f, -1f, -0.5f, -1.5f}, shape); // 40: padding must not overflow
            NDArray adv = m.create(new float[] {0.5f, 0.5f, 0.5f, -1f, -1f, -1f}, shape);
            double beta = 0.04;
            float[] k3 = PpoLosses.k3(logp, ref, mask).toFloatArray();
            // r = ref - logp: row 0: -0.5, 0 ; row 1: -0.5, 0.5, 0 ; k3 = e^r - r - 1
            double kA = Math.exp(-0.5) + 0.5 - 1, kB = Math.exp(0.5) - 0.5 - 1;
            assertEquals(0f, k3[0], 0f);
            assertEquals(kA, k3[1], 1e-6);
            assertEquals(0, k3[2], 1e-7);
            assertEquals(kA, k3[3], 1e-6);
            assertEquals(kB, k3[4], 1e-6);
            NDArray perToken = PpoLosses.clippedSurrogate(logp, old, adv, 0.2);
            NDArray total = perToken.add(PpoLosses.k3(logp, ref, mask).mul((float) beta));
            float grpo = PpoLosses.aggregate(total, mask, PpoLosses.Aggregation.SEQUENCE_MEAN, 4).getFloat();
            double row0 = (-0.5 + beta * kA + -0.5 + 0) / 2;
            double row1 = (1 + beta * kA + 1 + beta * kB + 1) / 3;
            assertEquals((row0 + row1) / 2, grpo, 1e-6);
            float dr = PpoLosses.aggregate(total, mask, PpoLosses.Aggregation.CONSTANT, 4).getFloat();
            assertEquals((row0 * 2 + row1 * 3) / (2 * 4), dr, 1e-6);
            float tokenMean = PpoLosses.aggregate(total, mask, PpoLosses.Aggregation.TOKEN_MEAN, 4).getFloat();
            assertEquals((row0 * 2 + row1 * 3) / 5, tokenMean, 1e-6);
        }
    }

    /** Where the KL goes: GRPO's in the loss, the others' in the reward; PPO refuses the loss; older checkpoints resume. */
    @Test
    void klPlacementDefaultsAndExplicitChoice() {
        PpoSettings d = PpoSettings.defaults(java.nio.file.Path.of("p"), java.nio.file.Path.of("r"),
                java.nio.file.Path.of("q"), java.nio.file.Path.of("o"));
        assertEquals(PpoSettings.KlPlacement.REWARD, d.klPlacement());
        PpoSettings grpo = d.withAlgorithm(PpoSettings.Algorithm.GRPO);
        assertEquals(PpoSettings.KlPlacement.LOSS_K3, grpo.klPlacement());
        assertEquals(PpoSettings.KlPlacement.REWARD,
                grpo.withKl(grpo.kl().withPlacement(PpoSettings.KlPlacement.REWARD)).klPlacement(), "the earlier GRPO");
        assertThrows(IllegalArgumentException.class, () -> d.withKl(d.kl().withPlacement(PpoSettings.KlPlacement.LOSS_K3)));
        // the algorithm's own placement is not written into the settings fingerprint: older checkpoints still resume
        assertFalse(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(d.kl()).has("placement"));
        assertEquals(PpoSettings.KlPlacement.LOSS_K3, PpoSettings.KlPlacement.parse("loss"));
    }

    /** PPO (Ziegler / InstructGPT, TRL's PPOv2): r_t = -beta (logp - ref), + score at the last token; GAE with gamma < 1. */
    @Test
    void ppoPerTokenKlRewardAndDiscountedGaeByHand() {
        float[] r = Advantages.tokenRewards(1.5f, new float[] {-0.2f, -0.4f, -0.1f}, new float[] {-0.3f, -0.4f, -0.6f}, 0.2);
        // -0.2 * (0.1) = -0.02 ; 0 ; -0.2 * 0.5 + 1.5 = 1.4
        assertArrayEquals(new float[] {-0.02f, 0f, 1.4f}, r, 1e-6f);
        float[] v = {0.3f, 0.1f, 0.6f};
        float[][] ar = Advantages.gae(r, v, 0.9, 0.8);
        double d2 = 1.4 - 0.6, d1 = 0 + 0.9 * 0.6 - 0.1, d0 = -0.02 + 0.9 * 0.1 - 0.3;
        double a2 = d2, a1 = d1 + 0.72 * a2, a0 = d0 + 0.72 * a1;
        assertArrayEquals(new float[] {(float) a0, (float) a1, (float) a2}, ar[0], 1e-6f);
        assertArrayEquals(new float[] {(float) (a0 + 0.3), (float) (a1 + 0.1), (float) (a2 + 0.6)}, ar[1], 1e-6f);
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
