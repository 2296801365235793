package seed.stages.rlhf;

import java.nio.file.Path;
import java.util.List;

/**
 * What a PPO run produced, measured on held-out prompts with the same sampling seed before (SFT policy) and after.
 *
 * @param rewardGain      mean reward-model score after minus before
 * @param kl              KL(policy || reference) per response (nats) after training, estimated on the held-out samples
 * @param ruleRateBefore  independent rule metric (polite and correct, program-checked) of the SFT policy
 * @param ruleRateAfter   the same metric of the trained policy
 * @param guardEvents     guard-rail warnings raised during the run (empty when none)
 * @param stoppedEarly    true when a guard rail or {@code stopAt} ended the run before {@code iterations}
 * @param policyDir       final policy checkpoint folder (a normal stages checkpoint: config.json, model.safetensors, tokenizer)
 * @param referenceFrozen checked at the end of the run: the reference's weights are bit-identical to the SFT weights and
 *                        no gradient reached them
 */
public record PpoResult(double rewardGain, double kl, double rewardBefore, double rewardAfter, double ruleRateBefore,
        double ruleRateAfter, double degenerateRateAfter, double meanLengthBefore, double meanLengthAfter, int iterations,
        boolean stoppedEarly, List<String> guardEvents, double seconds, Path outDir, Path policyDir, Path metrics,
        Path rewardChart, Path klChart, boolean referenceFrozen) {
}
