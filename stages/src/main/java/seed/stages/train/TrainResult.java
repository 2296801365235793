package seed.stages.train;

import java.nio.file.Path;

/**
 * What a training run produced: its artifacts (checkpoint folder, metrics, chart) and headline numbers.
 *
 * @param checkpoint        the final checkpoint folder (complete, renamed into place)
 * @param metrics           the run's metrics.jsonl
 * @param lossChart         the loss curve SVG in the run's report folder
 * @param steps             the step the run ended at
 * @param trainLoss         training loss of the last step
 * @param valLoss           held-out loss at the end
 * @param medianTokensPerSecond median step throughput of this process (optimizer steps only)
 * @param finished          false when the run stopped early on request ({@code stopAt}) and can be resumed
 */
public record TrainResult(Path checkpoint, Path metrics, Path lossChart, long steps, double trainLoss, double valLoss,
        double medianTokensPerSecond, boolean finished) {
}
