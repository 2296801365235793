package seed.stages.train;

import seed.stages.model.Precision;

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
 * @param precision        fp32 (default) or bf16 mixed precision (fp32 master weights and moments, bf16 matmuls)
 * @param device           {@code auto} (default: GPU 0 if libtorch sees one, else the CPU), {@code cpu}, {@code gpu},
 *                         {@code gpu:N}; see {@link seed.stages.model.Devices}
 */
public record TrainSettings(int steps, int batchSize, float learningRate, float minLearningRate, int warmupSteps,
        float weightDecay, float clipNorm, int evalEvery, int checkpointEvery, int keepCheckpoints, long seed,
        long logEveryMs, Precision precision, String device) {

    public static TrainSettings defaults() {
        return new TrainSettings(300, 16, 3e-3f, 3e-4f, 30, 0.1f, 1.0f, 100, 100, 2, 1337, 2000);
    }

    /** fp32 on the best available device: the settings every caller had before precision and device existed. */
    public TrainSettings(int steps, int batchSize, float learningRate, float minLearningRate, int warmupSteps,
            float weightDecay, float clipNorm, int evalEvery, int checkpointEvery, int keepCheckpoints, long seed,
            long logEveryMs) {
        this(steps, batchSize, learningRate, minLearningRate, warmupSteps, weightDecay, clipNorm, evalEvery,
                checkpointEvery, keepCheckpoints, seed, logEveryMs, Precision.FP32, "auto");
    }

    public TrainSettings {
        precision = precision == null ? Precision.FP32 : precision; // absent from state.json files of older runs
        device = device == null ? "auto" : device;
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
                evalEvery, checkpointEvery, keepCheckpoints, seed, logEveryMs, precision, device);
    }

    /** The same settings computing in {@code newPrecision} on {@code newDevice} (the --precision / --device flags). */
    public TrainSettings withCompute(Precision newPrecision, String newDevice) {
        return new TrainSettings(steps, batchSize, learningRate, minLearningRate, warmupSteps, weightDecay, clipNorm,
                evalEvery, checkpointEvery, keepCheckpoints, seed, logEveryMs, newPrecision, newDevice);
    }

    public LearningRateSchedule schedule() {
        return new LearningRateSchedule(learningRate, minLearningRate, Math.min(warmupSteps, steps), steps);
    }
}
