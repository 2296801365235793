package seed.stages.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.TestData;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.pretrain.PretrainRequest;
import seed.stages.pretrain.Pretraining;
import seed.stages.sft.Sft;
import seed.stages.sft.SftRequest;

/**
 * Exact resume: with a fixed seed and one thread, 2N steps in one go and N steps + resume + N steps end with the same
 * loss (to 1e-5) and the same weights, for pretraining and for SFT.
 */
class ResumeTest {

    private static final int N = 12;
    private static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    private static TrainSettings settings() {
        return new TrainSettings(2 * N, 4, 3e-3f, 3e-4f, 4, 0.1f, 1.0f, 5, 5, 2, 77, 100_000);
    }

    private static PretrainRequest pretrain(Path corpus, Path out, Path resume, long stopAt) {
        return pretrain(corpus, out, resume, stopAt, 24);
    }

    private static PretrainRequest pretrain(Path corpus, Path out, Path resume, long stopAt, int context) {
        return new PretrainRequest(corpus, out, null, context, 2, 32, 4, settings(), resume, stopAt);
    }

    @Test
    void pretrainingResumesExactly(@TempDir Path dir) throws Exception {
        Path corpus = TestData.corpus(dir, 400);
        TrainResult straight = Pretraining.run(pretrain(corpus, dir.resolve("straight"), null, 0), QUIET);

        TrainResult firstHalf = Pretraining.run(pretrain(corpus, dir.resolve("split"), null, N), QUIET);
        assertFalse(firstHalf.finished());
        assertEquals(N, firstHalf.steps());
        TrainResult secondHalf = Pretraining.run(pretrain(corpus, dir.resolve("split"), dir.resolve("split"), 0), QUIET);

        assertTrue(secondHalf.finished());
        assertEquals(2 * N, secondHalf.steps());
        assertEquals(straight.trainLoss(), secondHalf.trainLoss(), 1e-5);
        assertEquals(straight.valLoss(), secondHalf.valLoss(), 1e-5);
        assertEquals(weightsOf(straight.checkpoint()), weightsOf(secondHalf.checkpoint()), 1e-5);
        // the metrics of the resumed run describe one history: one record per step, no duplicates
        long stepRecords = Files.readAllLines(secondHalf.metrics()).stream().filter(l -> l.contains("\"loss\"")).count();
        assertEquals(2 * N, stepRecords);
    }

    @Test
    void sftResumesExactly(@TempDir Path dir) throws Exception {
        Path corpus = TestData.corpus(dir, 300);
        Path base = Pretraining.run(pretrain(corpus, dir.resolve("base"), null, 0, 96), QUIET).checkpoint();
        Path data = TestData.instructions(dir, 60, 0.5, 3);
        TrainResult straight = Sft.run(new SftRequest(base, data, dir.resolve("a"), settings(), false, null, 0), QUIET);
        Sft.run(new SftRequest(base, data, dir.resolve("b"), settings(), false, null, N), QUIET);
        TrainResult resumed = Sft.run(new SftRequest(base, data, dir.resolve("b"), settings(), false, dir.resolve("b"),
                0), QUIET);
        assertEquals(straight.trainLoss(), resumed.trainLoss(), 1e-5);
        assertEquals(straight.valLoss(), resumed.valLoss(), 1e-5);
    }

    /** Sum of absolute weights: a cheap fingerprint that differs if any step differed. */
    private static double weightsOf(Path checkpoint) throws Exception {
        double sum = 0;
        for (var tensor : SafeTensors.read(checkpoint.resolve(Checkpoints.MODEL)).values()) {
            for (float v : tensor.data()) {
                sum += Math.abs(v);
            }
        }
        return sum;
    }
}
