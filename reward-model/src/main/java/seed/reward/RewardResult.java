package seed.reward;

import java.nio.file.Path;

/**
 * What a reward-model run produced: held-out pairwise accuracy and loss, the data sizes, the normalisation
 * statistics saved with the model, and where the artifacts are.
 *
 * @param modelDir the trained reward model ({@code seed reward score --model} and {@code seed rlhf --reward} take it)
 */
public record RewardResult(double valAccuracy, double valLoss, double trainAccuracy, int trainPairs, int heldOutPairs,
        float normMean, float normStd, long steps, double seconds, Path outDir, Path modelDir, Path metrics, Path chart) {
}
