package seed.stages.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import seed.stages.model.GptConfig;
import seed.stages.train.TrainSettings;

/** {@code seed pretrain} says when a run is not sized for its data (issue 21), and only then. */
class DataBudgetWarningTest {

    private static String warnings(int steps, double corpusTokens, Path init) {
        GptConfig config = new GptConfig(259, 128, 4, 128, 4); // ~0.88 M parameters
        TrainSettings settings = TrainSettings.defaults().withSteps(steps);
        PretrainRequest request = new PretrainRequest(Path.of("c.txt"), Path.of("out"), null, 128, 4, 128, 4,
                settings, null, 0, init);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Pretraining.warnIfMissized(request, config, corpusTokens, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void warnsBelowFiveTokensPerParameterAndAboveFourEpochs() {
        // the README's example: 300 steps x 16 x 128 = 614k tokens for ~0.88 M parameters, ~1 M corpus tokens
        String few = warnings(300, 1_000_000, null);
        assertTrue(few.contains("pretrain: warning: the run sees 0.7") && few.contains("tokens per parameter"), few);
        assertEquals(1, few.lines().count(), few);
        String repeats = warnings(20_000, 1_000_000, null); // 41 M tokens over a 1 M corpus: 41 epochs
        assertTrue(repeats.contains("repeats its training data 41.0 times"), repeats);
        assertEquals("", warnings(2_500, 50_000_000, null), "20+ tokens per parameter, under 1 epoch: silent");
        assertEquals("", warnings(300, 1_000_000, Path.of("base")), "continued pretraining needs no such budget");
    }
}
