package seed.stages.rlhf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.HostTensor;
import seed.stages.checkpoint.PeftAdapters;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.data.InstructionDataset;
import seed.stages.data.InstructionExample;
import seed.stages.data.SyntheticInstructions;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.model.LoraSettings;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.train.TrainSettings;
import seed.stages.train.Trainer;

/**
 * RL with a LoRA policy on a Llama-family SFT model: one copy of the base serves as policy base and frozen
 * reference (the reference is the base with the adapters off), the base stays bit-identical through training, the
 * adapters move, and the policy folder is a PEFT adapter folder that loads back as base + adapters.
 */
class LoraRlTest {

    @Test
    void aLoraPolicyTrainsItsAdaptersAndLeavesTheReferenceBitIdentical(@TempDir Path dir) throws Exception {
        GptConfig shape = GptConfig.llama(259, 96, 2, 32, 4, 2, 0);
        List<InstructionExample> examples = SyntheticInstructions.generate(400, 4, 0.3, 11).stream()
                .map(e -> new InstructionExample(e.prompt(), e.response(), 0)).toList();
        ByteTokenizer tokenizer = new ByteTokenizer();
        Path sft = dir.resolve("sft");
        try (Gpt gpt = Gpt.initialize(shape, 5)) {
            InstructionDataset data = new InstructionDataset(examples, tokenizer, shape.context(), 16, 0.05, 3, false);
            new Trainer("sft", gpt, tokenizer, data, new TrainSettings(30, 16, 3e-3f, 3e-4f, 5, 0f, 1f, 30, 30, 1, 1,
                    60_000), sft, PpoTrainerTest.QUIET).run(null, 0);
        }
        Path sftCheckpoint = Checkpoints.resolve(sft);
        Map<String, HostTensor> sftWeights = SafeTensors.read(sftCheckpoint.resolve(Checkpoints.MODEL));
        Path prompts = dir.resolve("prompts.jsonl");
        StringBuilder lines = new StringBuilder();
        for (var e : SyntheticInstructions.generate(40, 4, 0.5, 99)) {
            lines.append("{\"prompt\": \"").append(e.prompt()).append("\"}\n");
        }
        Files.writeString(prompts, lines);

        PpoSettings s = PpoSettings.defaults(sft, dir.resolve("no-rm"), prompts, dir.resolve("rl"))
                .withAlgorithm(PpoSettings.Algorithm.GRPO)
                .withRollout(r -> new PpoSettings.Rollout(2, 4, 24, 1.0f, 1.0, 5.0, false))
                .withOptimisation(o -> o.withSchedule(2, 1).withLearningRate(3e-3f))
                .withGuards(g -> new PpoSettings.Guards(g.klBound(), true, 4, null))
                .withRun(new PpoSettings.Run(3, 7, 3, 60_000))
                .withLora(new LoraSettings(4, 8, 0, List.of("q", "v", "o", "down"), false));
        PpoResult result = PpoTrainer.train(s, new RuleReward(), PpoTrainerTest.QUIET);
        assertTrue(result.referenceFrozen(), "the reference (base, adapters off) changed or received gradients");

        Path policy = result.policyDir();
        assertTrue(PeftAdapters.isAdapterFolder(policy), "a LoRA policy is saved as adapters");
        assertFalse(Files.exists(policy.resolve(Checkpoints.MODEL)));
        assertEquals(sftCheckpoint.toAbsolutePath().normalize(), PeftAdapters.base(policy).toAbsolutePath().normalize());
        try (Gpt loaded = Checkpoints.loadModel(policy)) {
            for (var e : sftWeights.entrySet()) {
                assertArrayEquals(e.getValue().data(), loaded.parameters().get(e.getKey()).toFloatArray(), 0f,
                        e.getKey() + " of the base changed");
            }
            double moved = loaded.adapterWeights().entrySet().stream().filter(e -> e.getKey().contains("lora_B"))
                    .mapToDouble(e -> { double sum = 0; for (float v : e.getValue().data()) { sum += Math.abs(v); }
                        return sum; }).sum();
            assertTrue(moved > 0, "the adapters never moved");
        }
    }
}
