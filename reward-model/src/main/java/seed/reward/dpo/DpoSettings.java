package seed.reward.dpo;

import seed.stages.data.Truncation;
import seed.stages.model.LoraSettings;

import java.nio.file.Path;

/**
 * Everything a DPO run needs: the SFT policy (also the frozen reference), the rankings snapshot (the reward model's
 * JSONL: K-wise rankings become their C(K,2) ordered pairs, ties none), the output folder, and the hyper-parameters.
 * The held-out prompts are chosen exactly as the reward model chooses them ({@code heldOutFraction}, {@code seed}), so
 * a reward model and a DPO policy trained with the same seed are judged on the same unseen prompts.
 *
 * @param loss            sigmoid (DPO), ipo or hinge, TRL's meanings, or plackett-luce over whole rankings
 *                        ({@link DpoLoss})
 * @param beta            the KL-strength parameter of the implicit reward beta * (logp - logp_ref)
 * @param labelSmoothing  conservative DPO's assumed label-flip rate (sigmoid only), in [0, 0.5)
 * @param steps           optimizer steps
 * @param groupsPerBatch  prompt groups per step (each group brings all its pairs; every response is computed once)
 * @param klMaxNewTokens  length of the held-out samples the final KL to the reference is measured on
 * @param lora            train LoRA adapters (the reference is then the base with adapters off); null = every weight
 *                        (the reference is a frozen copy)
 */
public record DpoSettings(Path policy, Path rankings, Path out, DpoLoss loss, double beta, double labelSmoothing,
        int steps, int groupsPerBatch, float learningRate, int warmupSteps, float clipNorm, double heldOutFraction,
        int evalEvery, int checkpointEvery, long seed, long logEveryMs, int klMaxNewTokens, Truncation truncation,
        LoraSettings lora) {

    public DpoSettings {
        if (!(beta > 0)) {
            throw new IllegalArgumentException("--beta must be > 0, got " + beta);
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) {
            throw new IllegalArgumentException("--label-smoothing must be in [0, 0.5), got " + labelSmoothing);
        }
        if (labelSmoothing > 0 && loss != DpoLoss.SIGMOID) {
            throw new IllegalArgumentException("--label-smoothing is defined for the sigmoid loss only (TRL), not "
                    + loss.spelling());
        }
        if (steps <= 0 || groupsPerBatch <= 0 || evalEvery <= 0 || checkpointEvery <= 0 || klMaxNewTokens <= 0) {
            throw new IllegalArgumentException("steps, groups per batch, eval/checkpoint intervals and KL sample length "
                    + "must be positive");
        }
        if (!(learningRate > 0)) {
            throw new IllegalArgumentException("learning rate must be positive, got " + learningRate);
        }
        if (!(heldOutFraction > 0 && heldOutFraction < 1)) {
            throw new IllegalArgumentException("held-out fraction must be in (0, 1), got " + heldOutFraction);
        }
    }

    /**
     * TRL's defaults for the loss (sigmoid, beta 0.1, no smoothing) and the reward model's split (10% of prompts,
     * seed 1); 200 steps of 8 prompt groups at a peak learning rate of 1e-4 suit Seed's tiny shapes.
     */
    public static DpoSettings defaults(Path policy, Path rankings, Path out) {
        return new DpoSettings(policy, rankings, out, DpoLoss.SIGMOID, 0.1, 0.0, 200, 8, 1e-4f, 10, 1.0f, 0.1, 50, 50,
                1, 2000, 48, Truncation.strict(), null);
    }

    public DpoSettings withLoss(DpoLoss l, double b, double smoothing) {
        return new DpoSettings(policy, rankings, out, l, b, smoothing, steps, groupsPerBatch, learningRate, warmupSteps,
                clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, klMaxNewTokens, truncation, lora);
    }

    public DpoSettings withSchedule(int stepCount, int groups, float lr, int warmup) {
        return new DpoSettings(policy, rankings, out, loss, beta, labelSmoothing, stepCount, groups, lr, warmup,
                clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, klMaxNewTokens, truncation, lora);
    }

    public DpoSettings withRun(int everyEval, int everyCheckpoint, long seedValue, long logMs) {
        return new DpoSettings(policy, rankings, out, loss, beta, labelSmoothing, steps, groupsPerBatch, learningRate,
                warmupSteps, clipNorm, heldOutFraction, everyEval, everyCheckpoint, seedValue, logMs, klMaxNewTokens,
                truncation, lora);
    }

    public DpoSettings withTruncation(Truncation t) {
        return new DpoSettings(policy, rankings, out, loss, beta, labelSmoothing, steps, groupsPerBatch, learningRate,
                warmupSteps, clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, klMaxNewTokens, t,
                lora);
    }

    public DpoSettings withLora(LoraSettings adapters) {
        return new DpoSettings(policy, rankings, out, loss, beta, labelSmoothing, steps, groupsPerBatch, learningRate,
                warmupSteps, clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, klMaxNewTokens,
                truncation, adapters);
    }

    public DpoSettings withOut(Path folder) {
        return new DpoSettings(policy, rankings, folder, loss, beta, labelSmoothing, steps, groupsPerBatch, learningRate,
                warmupSteps, clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, klMaxNewTokens,
                truncation, lora);
    }
}
