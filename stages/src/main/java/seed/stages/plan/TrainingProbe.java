package seed.stages.plan;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import seed.stages.data.TextCorpus;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.train.TrainSettings;
import seed.stages.train.Trainer;

/**
 * A short measured probe of training speed on this machine: a few real optimizer steps (forward, backward, AdamW)
 * of a model of the given shape on random tokens, timed as {@code seed bench train} times them. A shape too large
 * to probe quickly is probed at a narrower width and the speed scaled by FLOPs per token.
 */
public final class TrainingProbe {

    /** Largest model probed as it is; larger ones are probed narrower and scaled. */
    static final long MAX_PROBE_PARAMS = 30_000_000;

    /** What was measured: at which shape, and the speed scaled to the planned shape. */
    public record Speed(GptConfig probed, double probedTokensPerSecond, double tokensPerSecond) {
    }

    private TrainingProbe() {
    }

    public static Speed measure(GptConfig planned, int batch, int steps, PrintStream log) throws IOException {
        GptConfig probe = planned;
        while (probe.parameterCount() > MAX_PROBE_PARAMS && probe.dModel() > 64) {
            int width = Math.max(64, probe.dModel() / 2 / 64 * 64);
            probe = new seed.stages.model.Architecture(probe.family(), 0, 0, 0).config(probe.vocabSize(),
                    probe.context(), probe.layers(), width, Math.max(1, width / 64));
        }
        log.printf("plan: probing %d training steps at %s (%,d parameters)%n", steps, probe.describe(),
                probe.parameterCount());
        int[] tokens = new int[batch * (probe.context() + 1) * 8];
        SplittableRandom random = new SplittableRandom(0);
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = random.nextInt(256);
        }
        TextCorpus data = new TextCorpus(tokens, 0.1, batch, probe.context(), 0, 1);
        TrainSettings settings = new TrainSettings(steps + 1, batch, 1e-3f, 1e-3f, 0, 0f, 0f, 1_000_000, 1_000_000, 1,
                0, 1_000_000);
        Path dir = Files.createTempDirectory("seed-plan-probe");
        double[] seconds;
        try (Gpt model = Gpt.initialize(probe, 0)) {
            seconds = new Trainer("plan", model, new ByteTokenizer(), data, settings, dir, log).timeSteps(1, steps);
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        double[] timed = Arrays.copyOf(seconds, steps);
        Arrays.sort(timed);
        double measured = (double) batch * probe.context() / timed[steps / 2];
        double scaled = measured * ModelShapes.flopsPerToken(probe) / ModelShapes.flopsPerToken(planned);
        return new Speed(probe, measured, scaled);
    }
}
