package seed.stages.train;

/**
 * What a checkpoint records about the run besides weights and optimizer moments ({@code state.json}). Because
 * batches are a pure function of (seed, step), {@code step} is also the data position and the random state.
 */
public record TrainState(String stage, long step, int totalSteps, long seed, double lastValLoss, double bestValLoss,
        long tokensSeen, TrainSettings settings) {
}
