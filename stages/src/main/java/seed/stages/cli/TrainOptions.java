package seed.stages.cli;

import picocli.CommandLine.Option;
import seed.stages.model.Precision;
import seed.stages.train.LearningRateSchedule;
import seed.stages.train.TrainSettings;

/** The optimisation flags shared by {@code seed pretrain} and {@code seed sft} (a picocli mixin). */
public final class TrainOptions {

    private static final TrainSettings D = TrainSettings.defaults();

    @Option(names = "--steps", description = "Optimizer steps in total (default: ${DEFAULT-VALUE}).")
    int steps = D.steps();

    @Option(names = "--batch", description = "Sequences per batch (default: ${DEFAULT-VALUE}).")
    int batch = D.batchSize();

    @Option(names = "--lr", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    float lr = D.learningRate();

    @Option(names = "--min-lr", description = "Learning rate at the end of the cosine decay (default: lr / 10).")
    Float minLr;

    @Option(names = "--warmup", description = "Linear warm-up steps (default: ${DEFAULT-VALUE}).")
    int warmup = D.warmupSteps();

    @Option(names = "--weight-decay", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    float weightDecay = D.weightDecay();

    @Option(names = "--clip", description = "Global gradient-norm clip, 0 = off (default: ${DEFAULT-VALUE}).")
    float clip = D.clipNorm();

    @Option(names = "--eval-every", description = "Held-out evaluation interval in steps (default: ${DEFAULT-VALUE}).")
    int evalEvery = D.evalEvery();

    @Option(names = "--checkpoint-every", description = "Checkpoint interval in steps (default: ${DEFAULT-VALUE}).")
    int checkpointEvery = D.checkpointEvery();

    @Option(names = "--keep-checkpoints", description = "Complete checkpoints to keep (default: ${DEFAULT-VALUE}).")
    int keep = D.keepCheckpoints();

    @Option(names = "--seed", description = "Seed of initialisation and batch order (default: ${DEFAULT-VALUE}).")
    long seed = D.seed();

    @Option(names = "--threads", description = "libtorch intra-op threads (default: ${DEFAULT-VALUE}).")
    int threads = 1;

    @Option(names = "--stop-at", description = "Stop after this step with a resumable checkpoint (e.g. to hand the "
            + "machine over); --resume continues. 0 = run to the end (default).")
    long stopAt = 0;

    @Option(names = "--precision", description = "fp32 or bf16 (mixed precision: fp32 master weights and AdamW "
            + "moments, bf16 matmuls). Default: ${DEFAULT-VALUE}.")
    String precision = "fp32";

    @Option(names = "--device", description = "auto (GPU 0 if libtorch sees one, else the CPU), cpu, gpu or gpu:N. "
            + "Default: ${DEFAULT-VALUE}.")
    String device = "auto";

    public TrainSettings settings() {
        return new TrainSettings(steps, batch, lr, minLr != null ? minLr : LearningRateSchedule.tenthOf(lr), warmup, weightDecay, clip,
                evalEvery, checkpointEvery, keep, seed, 2000, Precision.parse(precision), device);
    }
}
