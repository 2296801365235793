package seed.stages.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.TestData;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.data.SyntheticInstructions;
import seed.stages.generate.Generation;
import seed.stages.generate.Generator;
import seed.stages.generate.SamplingSettings;
import seed.stages.model.Gpt;
import seed.stages.pretrain.PretrainRequest;
import seed.stages.pretrain.Pretraining;
import seed.stages.sft.Sft;
import seed.stages.sft.SftRequest;
import seed.stages.tokenizer.Tokenizer;

/** The stages really learn: pretraining lowers held-out loss, SFT teaches the response format. */
class LearningTest {

    private static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    @Test
    void pretrainingOnShakespeareGetsBelow2point6NatsPerByte(@TempDir Path dir) throws Exception {
        Path shakespeare = TestData.shakespeare();
        assumeTrue(shakespeare != null, "../shared/data/tinyshakespeare.txt is absent: skipping the real-data run");
        TrainSettings settings = TrainSettings.defaults(); // 300 steps, batch 16
        TrainResult result = Pretraining.run(new PretrainRequest(shakespeare, dir, null, 128, 4, 128, 4, settings,
                null, 0), QUIET);
        List<Double> val = new ArrayList<>();
        for (String line : Files.readAllLines(result.metrics())) {
            Matcher m = Pattern.compile("\"val_loss\":([0-9.]+)").matcher(line);
            if (m.find()) {
                val.add(Double.parseDouble(m.group(1)));
            }
        }
        assertTrue(result.valLoss() < 2.6, "val_loss " + result.valLoss());
        assertTrue(val.get(0) > result.valLoss(), "validation loss should fall: " + val);
        assertTrue(Files.size(result.lossChart()) > 500, "the report has a loss chart");
    }

    @Test
    void sftTeachesTheResponseFormatAndHeldOutLossFalls(@TempDir Path dir) throws Exception {
        Path corpus = TestData.corpus(dir, 2000);
        TrainSettings pre = new TrainSettings(150, 16, 3e-3f, 3e-4f, 15, 0.1f, 1.0f, 150, 150, 1, 11, 100_000);
        Path base = Pretraining.run(new PretrainRequest(corpus, dir.resolve("base"), null, 96, 2, 64, 4, pre, null, 0),
                QUIET).checkpoint();
        Path data = TestData.instructions(dir, 400, 0.5, 21);
        TrainSettings sft = new TrainSettings(200, 16, 2e-3f, 2e-4f, 10, 0.0f, 1.0f, 50, 200, 1, 12, 100_000);

        // held-out response loss before any SFT step, measured by the same code on the same split
        double before;
        try (Gpt model = Checkpoints.loadModel(base)) {
            Tokenizer tokenizer = Checkpoints.loadTokenizer(base);
            var dataset = new seed.stages.data.InstructionDataset(seed.stages.data.InstructionFile.read(data),
                    tokenizer, 96, 16, 0.1, 12, false);
            before = new Trainer("probe", model, tokenizer, dataset, sft, dir.resolve("probe"), QUIET).evaluate();
        }
        TrainResult result = Sft.run(new SftRequest(base, data, dir.resolve("sft"), sft, false, null, 0), QUIET);
        assertTrue(result.valLoss() < before / 3, "held-out loss " + before + " -> " + result.valLoss());

        try (Gpt model = Checkpoints.loadModel(result.checkpoint())) {
            Generator generator = new Generator(model, Checkpoints.loadTokenizer(result.checkpoint()));
            List<int[]> prompts = new ArrayList<>();
            List<SyntheticInstructions.Example> fresh = SyntheticInstructions.generate(20, 9, 0.5, 999);
            for (SyntheticInstructions.Example e : fresh) {
                prompts.add(generator.instructionPrompt(e.prompt()));
            }
            List<Generation> out = generator.generate(prompts, new SamplingSettings(0f, 0, 1f, 48, List.of(), 1, true));
            Pattern format = Pattern.compile("Sure! \\d+ plus \\d+ is \\d+\\. Happy to help\\.|\\d+\\.");
            int formatted = 0;
            int ended = 0;
            for (Generation g : out) {
                formatted += format.matcher(g.text()).matches() ? 1 : 0;
                ended += g.endedWithEndToken() ? 1 : 0;
            }
            assertTrue(formatted >= 16, "answers in the trained format: " + formatted + "/20, e.g. " + out.get(0).text());
            assertEquals(20, ended, "every answer ends with the end token");
        }
    }
}
