package seed.workflows.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.PeftAdapters;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;

/**
 * A team's own model through the whole chain in the real embedded Kestra: {@code seed.three-stage} given a
 * Llama-family base (grouped-query attention) and {@code lora_rank}, with no pretraining steps. Pretraining adopts
 * the base as it is (its held-out loss on the corpus measured), and SFT, the reward model and RL train LoRA
 * adapters: the SFT and RL outputs are PEFT adapter folders on the pinned base, and the run ends SUCCESS.
 */
class OwnModelFlowTest {

    @Test
    void threeStageFromALlamaBaseWithLoraEndsSuccess(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("my-llama");
        ByteTokenizer tokenizer = new ByteTokenizer();
        try (Gpt model = Gpt.initialize(GptConfig.llama(tokenizer.vocabSize(), 96, 2, 64, 4, 2, 0), 3)) {
            Checkpoints.replaceFolder(base, folder -> Checkpoints.writeModel(folder, model, tokenizer));
        }
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir, 0, true, 2), Map.of())) {
            Map<String, Object> inputs = new LinkedHashMap<>(ThreeStageFlowTest.TINY.write(dir.resolve("data"),
                    dir.resolve("report")));
            inputs.put("base_model", base.toString());
            inputs.put("pretrain_steps", 0);
            inputs.put("lora_rank", 4);
            inputs.put("rl_algorithm", "grpo");
            SeedEngine engine = host.engine();
            Execution run = engine.launch("seed.three-stage", inputs, "test");
            Execution done = engine.awaitTerminated(run.getId(), Duration.ofMinutes(8));
            assertEquals(State.Type.SUCCESS, done.getState().getCurrent(),
                    () -> ThreeStageFlowTest.describe(engine, run.getId()));
            Path policy = Path.of((String) done.getOutputs().get("policy"));
            assertTrue(PeftAdapters.isAdapterFolder(policy), "the RL policy is a LoRA adapter folder: " + policy);
            assertFalse(Files.exists(policy.resolve(Checkpoints.MODEL)));
            // the SFT stage's adapters sit on the adopted base, which the pretraining stage pinned
            Path sftBase = PeftAdapters.base(PeftAdapters.base(policy));
            assertTrue(Files.exists(sftBase.resolve(Checkpoints.MODEL)), "the adopted base checkpoint: " + sftBase);
            assertTrue(((String) done.getOutputs().get("table")).contains("rlhf"), done.getOutputs().toString());
        }
    }
}
