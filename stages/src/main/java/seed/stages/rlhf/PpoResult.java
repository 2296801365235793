package seed.stages.rlhf;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What an RL run produced, measured on held-out prompts with the same sampling seed before (SFT policy) and after.
 *
 * @param rewardGain      mean reward-model score after minus before
 * @param kl              KL(policy || reference) per response (nats) after training, at the rollout temperature
 * @param ruleRateBefore  the first check of the caller's {@link Evaluator} (e.g. the demo's polite-and-correct rule) on
 *                        the SFT policy; NaN when the evaluator has no checks
 * @param ruleRateAfter   the same check on the trained policy
 * @param guardEvents     guard-rail warnings raised during the run (empty when none)
 * @param stoppedEarly    true when a guard rail or {@code stopAt} ended the run before its iterations
 * @param policyDir       final policy checkpoint folder (a normal stages checkpoint), null when paused by {@code stopAt}
 * @param referenceFrozen checked at the end of the run: the reference's weights are bit-identical to the SFT weights,
 *                        they require no gradient and none reached them
 * @param algorithm       ppo, rloo or grpo
 * @param checksBefore    every check's pass rate before training, by name
 * @param checksAfter     every check's pass rate after training (empty when paused)
 * @param keptIteration   the iteration whose policy the run ended with: the last one, an earlier one keep-best chose
 *                        on the selection prompts, or 0 for the SFT model itself
 * @param policyBelowSft  the ended-with policy's first check is below SFT's on the report prompts (warned in the log)
 */
public record PpoResult(double rewardGain, double kl, double rewardBefore, double rewardAfter, double ruleRateBefore,
        double ruleRateAfter, double degenerateRateAfter, double meanLengthBefore, double meanLengthAfter, int iterations,
        boolean stoppedEarly, List<String> guardEvents, double seconds, Path outDir, Path policyDir, Path metrics,
        Path rewardChart, Path klChart, boolean referenceFrozen, String algorithm, Map<String, Double> checksBefore,
        Map<String, Double> checksAfter, int keptIteration, boolean policyBelowSft) {

    static PpoResult paused(PpoSettings s, HeldOutEvaluation.Stats before, RlCheckpoint.State st, String primary,
            double seconds, Path out, Path metrics, boolean referenceFrozen) {
        return new PpoResult(Double.NaN, Double.NaN, before.meanReward(), Double.NaN, rate(before, primary), Double.NaN,
                Double.NaN, before.meanLength(), Double.NaN, st.iteration(), true, st.guardEvents(), seconds, out, null,
                metrics, null, null, referenceFrozen, s.algorithm().cliName(), before.checks(), Map.of(), st.iteration(),
                false);
    }

    static PpoResult finished(PpoSettings s, HeldOutEvaluation.Stats before, HeldOutEvaluation.Stats after,
            RlCheckpoint.State st, String primary, double seconds, Path out, Path policyDir, Path metrics, Path rewardChart,
            Path klChart, boolean referenceFrozen, boolean stoppedEarly, int keptIteration, boolean policyBelowSft) {
        return new PpoResult(after.meanReward() - before.meanReward(), after.kl(), before.meanReward(), after.meanReward(),
                rate(before, primary), rate(after, primary), after.degenerateRate(), before.meanLength(), after.meanLength(),
                st.iteration(), stoppedEarly, st.guardEvents(), seconds, out, policyDir, metrics, rewardChart, klChart,
                referenceFrozen, s.algorithm().cliName(), before.checks(), after.checks(), keptIteration, policyBelowSft);
    }

    private static double rate(HeldOutEvaluation.Stats st, String check) {
        return check == null ? Double.NaN : st.checks().getOrDefault(check, Double.NaN);
    }
}
