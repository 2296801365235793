package seed.workflows.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.reward.data.RankingsFile;
import seed.reward.demo.SyntheticPreferences;
import seed.stages.data.InstructionDataset;
import seed.stages.data.InstructionExample;
import seed.stages.data.SyntheticInstructions;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.train.TrainSettings;
import seed.stages.train.Trainer;

/**
 * The {@code seed.dpo} flow runs its {@code Dpo} task in the embedded engine on a tiny SFT model and a synthetic
 * snapshot: SUCCESS, the policy and the held-out implicit-reward accuracy and KL as flow outputs, the settings and
 * input hashes address the store (a second identical run is reused).
 */
class DpoFlowTest {

    @Test
    void theDpoFlowTrainsAPolicyFromASnapshot(@TempDir Path dir) throws Exception {
        GptConfig shape = new GptConfig(259, 96, 2, 48, 4);
        Path sft = dir.resolve("sft");
        List<InstructionExample> examples = SyntheticInstructions.generate(600, 4, 0.3, 11).stream()
                .map(e -> new InstructionExample(e.prompt(), e.response(), 0)).toList();
        ByteTokenizer tokenizer = new ByteTokenizer();
        try (Gpt gpt = Gpt.initialize(shape, 5)) {
            InstructionDataset data = new InstructionDataset(examples, tokenizer, shape.context(), 16, 0.05, 3, false);
            TrainSettings settings = new TrainSettings(40, 16, 3e-3f, 3e-4f, 5, 0.0f, 1.0f, 40, 40, 1, 1, 5000);
            new Trainer("sft", gpt, tokenizer, data, settings, sft, new PrintStream(OutputStream.nullOutputStream()))
                    .run(null, 0);
        }
        Path rankings = dir.resolve("snapshot.jsonl");
        RankingsFile.write(rankings, SyntheticPreferences.generate(
                new SyntheticPreferences.Settings(80, 3, 4, 0.5, 0.1, 0.1, 0.0, 7)));
        Map<String, Object> inputs = Map.of("policy", sft.toString(), "rankings", rankings.toString(), "steps", 4,
                "truncate_response", "right", "beta", 0.2);
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir.resolve("work"), 0, false, 2), Map.of())) {
            SeedEngine engine = host.engine();
            Execution done = engine.awaitTerminated(engine.launch("seed.dpo", inputs, "alice").getId(),
                    Duration.ofMinutes(5));
            assertEquals(State.Type.SUCCESS, done.getState().getCurrent(), () -> done.getState().toString());
            Map<String, Object> out = done.getOutputs();
            assertTrue(Files.isDirectory(Path.of((String) out.get("policy"))), out.toString());
            double accuracy = ((Number) out.get("val_rewards_accuracy")).doubleValue();
            assertTrue(accuracy >= 0 && accuracy <= 1, out.toString());
            assertTrue(out.containsKey("kl"), out.toString());
            Execution again = engine.awaitTerminated(engine.launch("seed.dpo", inputs, "alice").getId(),
                    Duration.ofMinutes(5));
            assertEquals(State.Type.SUCCESS, again.getState().getCurrent());
            assertEquals(out.get("sha256"), again.getOutputs().get("sha256"), "the same inputs reuse the stored policy");
        }
    }
}
