package seed.stages.rlhf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import seed.stages.generate.Generation;

/**
 * Where a check's failures stand in the update (issue 22's evidence for GRPO): the mean advantage of the failing
 * responses, their share of the summed |advantage|, and the share of groups holding one; and why GRPO's group z-score
 * bounds what a rare unsafe answer can get: one outlier among k equal rewards scores -(k-1)/sqrt(k) whatever the
 * gap (-1.5 at k = 4, -2.47 at 8, -3.75 at 16), while RLOO's leave-one-out advantage grows with the gap.
 */
class CheckAdvantagesTest {

    private static Generation gen(String text) {
        return new Generation(new int[] {1}, new int[] {2, 3}, text, Generation.StopReason.END_OF_TEXT);
    }

    @Test
    void failingResponsesAdvantageShareAndGroups() {
        Evaluator ev = Evaluator.generic().withChecks(List.of(
                new Evaluator.Check("safe", (p, r) -> !r.contains("idiot"))));
        HeldOutEvaluation h = new HeldOutEvaluation(null, ev, List.of(), List.of());
        List<Generation> gens = List.of(gen("5."), gen("5, idiot."), gen("Sure! 5."), gen("5."),
                gen("6."), gen("Sure! 6."), gen("6 idiot"), gen("6."));
        double[] adv = {0.5, -1.5, 0.5, 0.5, 1, -1, -1, 1};
        Map<String, Object> rec = h.advantageRecord(List.of("p", "p", "p", "p", "q", "q", "q", "q"), gens, adv, 4);
        assertEquals(-1.25, (Double) rec.get("safe_fail_advantage"), 1e-12);
        assertEquals(2.5 / 7.0, (Double) rec.get("safe_fail_advantage_share"), 1e-12);
        assertEquals(1.0, (Double) rec.get("safe_groups_with_fail"), 1e-12);
        Map<String, Object> none = h.advantageRecord(List.of("p", "p", "p", "p", "q", "q", "q", "q"),
                List.of(gen("a"), gen("b"), gen("c"), gen("d"), gen("e"), gen("f"), gen("g"), gen("h")), adv, 4);
        assertFalse(none.containsKey("safe_fail_advantage"), "no failure: no mean to report");
        assertEquals(0.0, (Double) none.get("safe_groups_with_fail"));
    }

    @Test
    void grpoBoundsARareOutlierWhateverTheGapRlooDoesNot() {
        for (int k : new int[] {4, 8, 16}) {
            for (double gap : new double[] {1, 3, 30}) {
                double[] r = new double[k];
                r[0] = -gap;
                float z = Advantages.groupNormalised(r, k)[0];
                // (GRPO's +1e-4 in the denominator aside) -(k-1)/sqrt(k), the same for every gap
                assertEquals(-(gap * (k - 1) / k) / (gap / Math.sqrt(k) + 1e-4), z, 1e-5, "k=" + k + " gap=" + gap);
                assertEquals(-(k - 1) / Math.sqrt(k), z, 2e-3);
                assertEquals(-gap, Advantages.leaveOneOut(r, k)[0], 1e-4);
            }
        }
    }

    @Test
    void grpoBatchScaleKeepsTheGapAsTrlsScaleRewardsBatch() {
        double[] r = {0, 0, 0, -4, 1, 1, 1, 1};
        // group means -1 and 1; the batch's mean 0 and unbiased std sqrt(20 / 7)
        double std = Math.sqrt(20.0 / 7.0) + 1e-4;
        float[] expected = {(float) (1 / std), (float) (1 / std), (float) (1 / std), (float) (-3 / std), 0, 0, 0, 0};
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, Advantages.batchScaled(r, 4), 1e-6f);
        float[] scores = {0, 0, 0, -4, 1, 1, 1, 1};
        double[] kl = new double[8];
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, Advantages.criticFree(PpoSettings.Algorithm.GRPO,
                scores, kl, 0.1, false, 4, PpoSettings.RewardScale.BATCH), 1e-6f);
        org.junit.jupiter.api.Assertions.assertArrayEquals(Advantages.groupCentred(r, 4), Advantages.criticFree(
                PpoSettings.Algorithm.GRPO, scores, kl, 0.1, false, 4, PpoSettings.RewardScale.NONE), 1e-6f);
        // the gap survives in a batch of 8 groups (one rude answer, 7 groups of ordinary spread): twice as far below
        // its group, it gets ~1.4 times the advantage (the batch's std grows with it too); the group z-score: the same
        double[] near = new double[32];
        double[] far = new double[32];
        for (int i = 4; i < 32; i++) {
            near[i] = far[i] = i % 2 == 0 ? 1 : -1;
        }
        near[3] = -4;
        far[3] = -8;
        assertEquals(Advantages.groupNormalised(near, 4)[3], Advantages.groupNormalised(far, 4)[3], 1e-4);
        float ratio = Advantages.batchScaled(far, 4)[3] / Advantages.batchScaled(near, 4)[3];
        org.junit.jupiter.api.Assertions.assertTrue(ratio > 1.3, "batch scale keeps part of the gap: " + ratio);
    }

    @Test
    void rewardScaleIsGrpoOnlyAndDefaultsAsPublished() {
        PpoSettings d = PpoSettings.defaults(java.nio.file.Path.of("p"), java.nio.file.Path.of("r"),
                java.nio.file.Path.of("q"), java.nio.file.Path.of("o"));
        assertEquals(PpoSettings.RewardScale.GROUP, d.withAlgorithm(PpoSettings.Algorithm.GRPO).rewardScale());
        assertEquals(PpoSettings.RewardScale.NONE, d.withAlgorithm(PpoSettings.Algorithm.DR_GRPO).rewardScale());
        assertEquals(PpoSettings.RewardScale.BATCH, d.withAlgorithm(PpoSettings.Algorithm.GRPO)
                .withRollout(r -> r.withRewardScale(PpoSettings.RewardScale.BATCH)).rewardScale());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> d.withAlgorithm(PpoSettings.Algorithm.RLOO)
                        .withRollout(r -> r.withRewardScale(PpoSettings.RewardScale.BATCH)));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("GRPO's choice"), e.getMessage());
    }
}
