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
import seed.stages.model.HuggingFace;
import seed.stages.tokenizer.ByteTokenizer;

/**
 * A team's own model through the whole chain in the real embedded Kestra: {@code seed.three-stage} given a
 * Hugging Face Llama folder (grouped-query attention, {@code LlamaForCausalLM}) and {@code lora_rank}: pretraining
 * continues from the base on the corpus (domain adaptation), and SFT, the reward model and RL train LoRA adapters:
 * the SFT and RL outputs are PEFT adapter folders on the pinned continued-pretraining checkpoint, and the run ends
 * SUCCESS. (Adopting a base without pretraining steps is the same stage with {@code pretrain_steps} 0: see
 * AdoptBaseTest.)
 */
class OwnModelFlowTest {

    @Test
    void threeStageFromALlamaBaseWithLoraEndsSuccess(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("my-llama");
        ByteTokenizer tokenizer = new ByteTokenizer();
        try (Gpt model = Gpt.initialize(GptConfig.llama(tokenizer.vocabSize(), 96, 2, 64, 4, 2, 0), 3)) {
            HuggingFace.export(model, tokenizer, base); // a LlamaForCausalLM folder, as a team would bring it
        }
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir, 0, true, 2), Map.of())) {
            Map<String, Object> inputs = new LinkedHashMap<>(ThreeStageFlowTest.TINY.write(dir.resolve("data"),
                    dir.resolve("report")));
            inputs.put("base_model", base.toString());
            inputs.put("pretrain_steps", 60); // continued pretraining on the corpus (domain adaptation)
            inputs.put("lora_rank", 8);
            // Seed's byte tokenizer has chat markers the base never trained: their embeddings and head rows train too
            inputs.put("lora_modules_to_save", "embed_tokens,lm_head");
            inputs.put("sft_learning_rate", 0.02); // adapters learn at a higher rate than full fine-tuning
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
