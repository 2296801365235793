package seed.stages.train;

/**
 * Hyper-parameters of one training run (pretraining or SFT), with defaults that train the benchmark shape well.
 *
 * @param steps            optimizer steps in total (a resumed run continues up to this number)
 * @param batchSize        sequences per batch
 * @param learningRate     peak learning rate after warm-up
 * @param minLearningRate  floor of the cosine decay
 * @param warmupSteps      linear warm-up steps
 * @param weightDecay      AdamW decoupled weight decay on matrices
 * @param clipNorm         global gradient-norm clip (0 = off)
 * @param evalEvery        evaluate held-out loss every N steps (and at the end)
 * @param checkpointEvery  write a resumable checkpoint every N steps (and at the end)
 * @param keepCheckpoints  how many complete checkpoints to keep
 * @param seed             seeds initialisation and batch sampling
 * @param logEveryMs       at most one progress line per this many milliseconds
 */
public record TrainSettings(int steps, int batchSize, float learningRate, float minLearningRate, int warmupSteps,
        float weightDecay, float clipNorm, int evalEvery, int checkpointEvery, int keepCheckpoints, long seed,
        long logEveryMs) {

    public static TrainSettings defaults() {
        return new TrainSettings(300, 16, 3e-3f, 3e-4f, 30, 0.1f, 1.0f, 100, 100, 2, 1337, 2000);
    }

    public TrainSettings {
        if (steps <= 0) {
            throw new IllegalArgumentException("steps must be positive, got " + steps);
        }
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        if (!(learningRate > 0)) {
            throw new IllegalArgumentException("learning rate must be positive, got " + learningRate);
        }
        if (evalEvery <= 0 || checkpointEvery <= 0) {
            throw new IllegalArgumentException("eval and checkpoint intervals must be positive");
        }
        if (keepCheckpoints < 1) {
            throw new IllegalArgumentException("keep at least one checkpoint, got " + keepCheckpoints);
        }
    }

    public TrainSettings withSteps(int newSteps) {
        return new TrainSettings(newSteps, batchSize, learningRate, minLearningRate, warmupSteps, weightDecay, clipNorm,
                evalEvery, checkpointEvery, keepCheckpoints, seed, logEveryMs);
    }

    public LearningRateSchedule schedule() {
        return new LearningRateSchedule(learningRate, minLearningRate, Math.min(warmupSteps, steps), steps);
    }
}
