package seed.stages.rlhf;

import java.nio.file.Path;

/**
 * Everything a PPO run needs: explicit inputs (SFT policy, reward model folder, prompts), the output folder, and the
 * hyper-parameters of InstructGPT-style PPO with defaults that work at Seed's tiny shapes.
 *
 * @param policy            SFT checkpoint or run folder: initial policy and frozen reference
 * @param reward            reward model folder (loaded by the caller's {@link RewardLoader})
 * @param prompts           prompts JSONL ({"prompt": ...} per line; other fields ignored)
 * @param out               run folder: checkpoints, final policy in {@code out/policy}, metrics.jsonl, report/*.svg
 * @param iterations        PPO iterations (rollout batch + optimisation)
 * @param rolloutBatch      prompts per iteration (one response each)
 * @param minibatches       minibatches per PPO epoch
 * @param ppoEpochs         passes over each rollout batch
 * @param learningRate      AdamW learning rate (constant)
 * @param clipRange         PPO ratio clip epsilon
 * @param valueClip         value clip epsilon
 * @param valueCoef         weight of the value loss
 * @param entropyCoef       weight of an entropy bonus (0 = none)
 * @param gamma             discount
 * @param lambda            GAE lambda
 * @param initKlCoef        initial coefficient of the per-token KL penalty
 * @param targetKl          target KL per response (nats) of the adaptive controller; 0 = fixed coefficient
 * @param klHorizon         horizon of the adaptive controller (Ziegler et al.)
 * @param klBound           guard rail: KL per response (nats) above which the run warns or stops
 * @param maxNewTokens      response length limit
 * @param temperature       sampling temperature of rollouts and held-out evaluation
 * @param missingEndPenalty subtracted from the score of a response that did not produce the end token
 * @param scoreClip         scores are clipped to [-scoreClip, scoreClip] (after optional whitening)
 * @param whitenScores      whiten scores over each rollout batch before shaping
 * @param ptxData           optional SFT/pretraining JSONL for PPO-ptx (null = off)
 * @param ptxCoef           weight of the PPO-ptx language-model loss
 * @param clipNorm          global gradient-norm clip
 * @param heldOutPrompts    prompts held out to measure reward gain, KL and the rule metric before and after
 * @param guardStop         true: a guard rail stops the run (with a checkpoint); false: it only warns
 * @param checkpointEvery   checkpoint every N iterations (and at the end)
 * @param seed              seeds the prompt order, sampling and minibatch order
 * @param logEveryMs        at most one progress line per this many milliseconds (default 0: every iteration)
 * @param heldOutFile       optional prompts JSONL for the before/after measurement; null = hold out
 *                          {@code heldOutPrompts} prompts of {@code prompts}
 */
public record PpoSettings(Path policy, Path reward, Path prompts, Path out, int iterations, int rolloutBatch,
        int minibatches, int ppoEpochs, float learningRate, double clipRange, double valueClip, double valueCoef,
        double entropyCoef, double gamma, double lambda, double initKlCoef, double targetKl, double klHorizon,
        double klBound, int maxNewTokens, float temperature, double missingEndPenalty, double scoreClip,
        boolean whitenScores, Path ptxData, double ptxCoef, float clipNorm, int heldOutPrompts, boolean guardStop,
        int checkpointEvery, long seed, long logEveryMs, Path heldOutFile) {

    public static PpoSettings defaults(Path policy, Path reward, Path prompts, Path out) {
        return new PpoSettings(policy, reward, prompts, out, 40, 32, 2, 4, 1e-4f, 0.2, 0.2, 0.1, 0.0, 1.0, 0.95,
                0.1, 2.0, 1000, 10.0, 48, 1.0f, 1.0, 5.0, false, null, 0.0, 1.0f, 64, true, 10, 1, 0, null);
    }

    public PpoSettings {
        if (iterations <= 0 || rolloutBatch <= 0 || minibatches <= 0 || ppoEpochs <= 0) {
            throw new IllegalArgumentException("iterations, rollout batch, minibatches and PPO epochs must be positive");
        }
        if (minibatches > rolloutBatch) {
            throw new IllegalArgumentException("minibatches (" + minibatches + ") exceed the rollout batch (" + rolloutBatch + ")");
        }
        if (!(learningRate > 0)) {
            throw new IllegalArgumentException("learning rate must be positive, got " + learningRate);
        }
        if (maxNewTokens <= 0) {
            throw new IllegalArgumentException("max new tokens must be positive, got " + maxNewTokens);
        }
        if (!(initKlCoef >= 0) || !(targetKl >= 0) || !(klBound > 0)) {
            throw new IllegalArgumentException("KL coefficient and target must be >= 0 and the KL bound > 0");
        }
        if (heldOutPrompts < 1 || checkpointEvery < 1) {
            throw new IllegalArgumentException("held-out prompts and checkpoint interval must be at least 1");
        }
    }

    /** The controller these settings start with. */
    public KlController initialController() {
        return targetKl > 0 ? new KlController.Adaptive(Math.max(initKlCoef, 1e-6), targetKl, klHorizon)
                : new KlController.Fixed(initKlCoef);
    }

    public PpoSettings withIterations(int n) {
        return new PpoSettings(policy, reward, prompts, out, n, rolloutBatch, minibatches, ppoEpochs, learningRate, clipRange,
                valueClip, valueCoef, entropyCoef, gamma, lambda, initKlCoef, targetKl, klHorizon, klBound, maxNewTokens,
                temperature, missingEndPenalty, scoreClip, whitenScores, ptxData, ptxCoef, clipNorm, heldOutPrompts,
                guardStop, checkpointEvery, seed, logEveryMs, heldOutFile);
    }

    public PpoSettings withOut(Path newOut) {
        return new PpoSettings(policy, reward, prompts, newOut, iterations, rolloutBatch, minibatches, ppoEpochs, learningRate,
                clipRange, valueClip, valueCoef, entropyCoef, gamma, lambda, initKlCoef, targetKl, klHorizon, klBound,
                maxNewTokens, temperature, missingEndPenalty, scoreClip, whitenScores, ptxData, ptxCoef, clipNorm,
                heldOutPrompts, guardStop, checkpointEvery, seed, logEveryMs, heldOutFile);
    }

    /** PPO-ptx: mix the language-model loss on {@code data} (SFT or pretraining JSONL) with weight {@code coef}. */
    public PpoSettings withPtx(Path data, double coef) {
        return new PpoSettings(policy, reward, prompts, out, iterations, rolloutBatch, minibatches, ppoEpochs, learningRate,
                clipRange, valueClip, valueCoef, entropyCoef, gamma, lambda, initKlCoef, targetKl, klHorizon, klBound,
                maxNewTokens, temperature, missingEndPenalty, scoreClip, whitenScores, data, coef, clipNorm,
                heldOutPrompts, guardStop, checkpointEvery, seed, logEveryMs, heldOutFile);
    }

    public PpoSettings withHeldOutFile(Path file) {
        return new PpoSettings(policy, reward, prompts, out, iterations, rolloutBatch, minibatches, ppoEpochs, learningRate,
                clipRange, valueClip, valueCoef, entropyCoef, gamma, lambda, initKlCoef, targetKl, klHorizon, klBound,
                maxNewTokens, temperature, missingEndPenalty, scoreClip, whitenScores, ptxData, ptxCoef, clipNorm,
                heldOutPrompts, guardStop, checkpointEvery, seed, logEveryMs, file);
    }
}
