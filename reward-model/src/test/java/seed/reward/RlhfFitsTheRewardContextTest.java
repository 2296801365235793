package seed.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.data.Truncation;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.rlhf.Evaluator;
import seed.stages.rlhf.PpoResult;
import seed.stages.rlhf.PpoSettings;
import seed.stages.rlhf.PpoTrainer;
import seed.stages.tokenizer.ByteTokenizer;

/**
 * Issue 17, item 5: a chain run with a non-default context (64) failed in RLHF with "the policy produces up to 65
 * tokens (prompt + response) but the reward model's context is 64", although the reward model was trained from the
 * same SFT model and has its context. Prompts were cut to leave room for the response but not for the end token the
 * reward model scores after a response that hit the length limit. With long prompts cut at the left, a policy and a
 * reward model of the same context must work together.
 */
class RlhfFitsTheRewardContextTest {

    @Test
    void aPolicyAndARewardModelOfTheSameContextWorkTogetherWithPromptsCutToFit(@TempDir Path dir) throws Exception {
        GptConfig shape = new GptConfig(259, 64, 1, 16, 2);
        Path policy = dir.resolve("policy");
        Files.createDirectories(policy);
        try (Gpt g = Gpt.initialize(shape, 1)) {
            Checkpoints.writeModel(policy, g, new ByteTokenizer());
        }
        Path prompts = dir.resolve("prompts.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            lines.append("{\"prompt\": \"").append(("question " + i + " is rather long. ").repeat(6)).append("\"}\n");
        }
        Files.writeString(prompts, lines.toString());
        try (RewardModel rm = RewardModel.withFreshHead(Gpt.initialize(shape, 2), new ByteTokenizer())) {
            PpoSettings s = PpoSettings.defaults(policy, dir, prompts, dir.resolve("out"))
                    .withRollout(r -> r.withBatch(2, 1)).withIterations(1);
            assertEquals(48, s.rollout().maxNewTokens(), "the case of the report: 64 = 16 for the prompt + 48 new");
            PpoResult result = PpoTrainer.train(s, rm, Evaluator.generic(), Truncation.parse(0, 0, "left", "error"),
                    new java.io.PrintStream(java.io.OutputStream.nullOutputStream()), 1);
            assertTrue(Files.isDirectory(dir.resolve("out")), result.toString());
        }
    }
}
