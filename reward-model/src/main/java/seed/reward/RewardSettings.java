package seed.reward;

import java.nio.file.Path;

/**
 * Everything a reward-model training run needs: explicit inputs (the SFT checkpoint, the rankings file), the output
 * folder, and hyper-parameters with defaults that train Seed's tiny shapes well.
 *
 * @param base             SFT checkpoint or run folder the backbone is initialised from
 * @param rankings         rankings JSONL (K-wise or pairwise lines)
 * @param out              run folder: final model in {@code out/model}, checkpoints, metrics.jsonl, chart
 * @param steps            optimizer steps
 * @param groupsPerBatch   prompt groups (all pairs of one ranking) per batch
 * @param learningRate     peak AdamW learning rate
 * @param minLearningRate  floor of the cosine decay
 * @param warmupSteps      linear warm-up steps
 * @param weightDecay      AdamW weight decay on matrices
 * @param clipNorm         global gradient-norm clip
 * @param heldOutFraction  share of prompts held out for accuracy/loss
 * @param evalEvery        held-out evaluation every N steps (and at the end)
 * @param checkpointEvery  resumable checkpoint every N steps (and at the end)
 * @param seed             seeds the split, batch order and head initialisation
 * @param logEveryMs       at most one progress line per this many milliseconds
 */
public record RewardSettings(Path base, Path rankings, Path out, int steps, int groupsPerBatch, float learningRate,
        float minLearningRate, int warmupSteps, float weightDecay, float clipNorm, double heldOutFraction, int evalEvery,
        int checkpointEvery, long seed, long logEveryMs) {

    public static RewardSettings defaults(Path base, Path rankings, Path out) {
        return new RewardSettings(base, rankings, out, 200, 8, 1e-3f, 1e-4f, 20, 0.0f, 1.0f, 0.1, 100, 100, 1, 2000);
    }

    public RewardSettings {
        if (steps <= 0 || groupsPerBatch <= 0) {
            throw new IllegalArgumentException("steps and groups per batch must be positive");
        }
        if (!(learningRate > 0)) {
            throw new IllegalArgumentException("learning rate must be positive, got " + learningRate);
        }
        if (!(heldOutFraction > 0 && heldOutFraction < 1)) {
            throw new IllegalArgumentException("held-out fraction must be in (0, 1), got " + heldOutFraction);
        }
        if (evalEvery <= 0 || checkpointEvery <= 0) {
            throw new IllegalArgumentException("eval and checkpoint intervals must be positive");
        }
    }

    public RewardSettings withSteps(int n) {
        return new RewardSettings(base, rankings, out, n, groupsPerBatch, learningRate, minLearningRate, warmupSteps,
                weightDecay, clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs);
    }
}
