package seed.reward.dpo;

import java.nio.file.Path;

/**
 * What a DPO run ends with. {@code policyDir} is null when the run stopped early on request (resumable).
 *
 * @param valRewardsAccuracy held-out implicit-reward pairwise accuracy: the share of held-out pairs with
 *                           beta (logp_c - ref_c) > beta (logp_r - ref_r) (a tie counts half; 0.5 at the start)
 * @param valRewardsMargin   mean held-out margin of the implicit rewards
 * @param valLoss            mean held-out loss
 * @param kl                 KL(policy || reference) per response, sum over tokens of logp - logp_ref on one sampled
 *                           response per held-out prompt (the RL stage's {@code kl})
 * @param referenceFrozen    the reference's log-probabilities of the first held-out group are unchanged at the end
 */
public record DpoResult(double valRewardsAccuracy, double valRewardsMargin, double valLoss, double kl, int steps,
        int trainPairs, int heldOutPairs, double seconds, Path out, Path policyDir, Path metrics, Path rewardsChart,
        Path accuracyChart, boolean referenceFrozen) {
}
