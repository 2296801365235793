package seed.reward;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.reward.data.PreferenceData;
import seed.reward.data.PreferencePair;
import seed.reward.data.PromptGroup;
import seed.reward.data.RankingsFile;
import seed.reward.data.SyntheticPreferences;
import seed.stages.checkpoint.HostTensor;
import seed.stages.data.SyntheticInstructions;
import seed.stages.rlhf.Gradients;
import seed.stages.rlhf.PoliteCorrectRule;
import seed.stages.rlhf.PpoResult;
import seed.stages.rlhf.PpoSettings;
import seed.stages.rlhf.PpoTrainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The whole third stage at a tiny size, for real: an SFT model (30% polite answers) is trained in the test, a reward
 * model learns the synthetic preference from K=4 rankings, and PPO against it must raise the held-out reward AND the
 * program-checked polite-and-correct rate while the KL to the reference stays under the bound.
 */
class RlhfEndToEndTest {

    @TempDir
    static Path shared;
    static Path sft;
    static Path rankings;
    static Path prompts;
    static RewardResult rm;

    @BeforeAll
    static void sftAndRewardModel() throws Exception {
        long t0 = System.nanoTime();
        sft = TinySft.train(shared.resolve("sft"), 0.3, 300);
        rankings = shared.resolve("rankings.jsonl");
        RankingsFile.write(rankings, SyntheticPreferences.generate(
                new SyntheticPreferences.Settings(400, 4, TinySft.MAX_OPERAND, 0.5, 0.1, 0.1, 0.0, 7)));
        prompts = shared.resolve("prompts.jsonl");
        StringBuilder lines = new StringBuilder();
        for (var e : SyntheticInstructions.generate(400, TinySft.MAX_OPERAND, 0.5, 99)) {
            lines.append("{\"prompt\": \"").append(e.prompt()).append("\"}\n");
        }
        Files.writeString(prompts, lines);
        long t1 = System.nanoTime();
        rm = RewardModelTrainer.train(RewardSettings.defaults(sft, rankings, shared.resolve("rm")));
        System.out.printf("tiny SFT %.1f s, reward model %.1f s: val_accuracy=%.4f val_loss=%.4f%n", (t1 - t0) / 1e9,
                (System.nanoTime() - t1) / 1e9, rm.valAccuracy(), rm.valLoss());
    }

    @Test
    void rewardModelReachesNinetyPercentHeldOutPairwiseAccuracy() throws Exception {
        assertTrue(rm.valAccuracy() >= 0.90, "held-out pairwise accuracy " + rm.valAccuracy());
        assertTrue(rm.heldOutPairs() > 100, "held-out pairs " + rm.heldOutPairs());
        // per-category accuracy, printed for the report: style and format are learned; sums are the hard part
        PreferenceData data = PreferenceData.split(RankingsFile.read(rankings), 0.1, 1);
        Map<String, int[]> byCategory = new TreeMap<>();
        try (RewardModel model = RewardModelFiles.load(rm.outDir())) {
            for (PromptGroup g : data.heldOut()) {
                float[] s = model.score(Collections.nCopies(g.responses().size(), g.prompt()), g.responses());
                for (PreferencePair p : g.pairs()) {
                    String key = PoliteCorrectRule.classify(g.prompt(), g.responses().get(p.better())) + " > "
                            + PoliteCorrectRule.classify(g.prompt(), g.responses().get(p.worse()));
                    int[] c = byCategory.computeIfAbsent(key, k -> new int[2]);
                    c[0] += s[p.better()] > s[p.worse()] ? 1 : 0;
                    c[1]++;
                }
            }
            byCategory.forEach((k, c) -> System.out.printf("  %-32s %d/%d%n", k, c[0], c[1]));
            float[] s = model.score(List.of("What is 3 plus 4?", "What is 3 plus 4?", "What is 3 plus 4?"),
                    List.of("Sure! 3 plus 4 is 7. Happy to help.", "7.", "zzzzzzzzzz"));
            assertTrue(s[0] > s[1] && s[1] > s[2], Arrays.toString(s));
            RewardModelFiles.Info info = RewardModelFiles.readInfo(rm.modelDir());
            assertEquals(rm.valAccuracy(), info.valAccuracy(), 1e-12);
            assertTrue(info.std() > 0);
        }
        assertTrue(Files.exists(rm.chart()));
    }

    @Test
    void ppoRaisesRewardAndTheIndependentRuleWithinTheKlBound(@TempDir Path out) throws Exception {
        double klBound = 10.0;
        PpoSettings settings = PpoSettings.defaults(sft, rm.modelDir(), prompts, out.resolve("ppo")).withIterations(40);
        assertEquals(klBound, settings.klBound());
        try (RewardModel reward = RewardModelFiles.load(rm.modelDir())) {
            Map<String, HostTensor> before = reward.weights();
            long t0 = System.nanoTime();
            PpoResult r = PpoTrainer.train(settings, reward, System.out);
            System.out.printf("PPO %.1f s: reward_gain=%.4f kl=%.4f rule_rate %.3f -> %.3f, length %.1f -> %.1f, degenerate %.3f%n",
                    (System.nanoTime() - t0) / 1e9, r.rewardGain(), r.kl(), r.ruleRateBefore(), r.ruleRateAfter(),
                    r.meanLengthBefore(), r.meanLengthAfter(), r.degenerateRateAfter());
            assertFalse(r.stoppedEarly(), "guard rail fired: " + r.guardEvents());
            assertTrue(r.rewardGain() > 0.2, "reward gain " + r.rewardGain());
            assertTrue(r.ruleRateAfter() >= r.ruleRateBefore() + 0.1,
                    "independent rule metric " + r.ruleRateBefore() + " -> " + r.ruleRateAfter());
            assertTrue(r.kl() < klBound, "KL " + r.kl());
            assertTrue(r.degenerateRateAfter() < 0.1, "degenerate " + r.degenerateRateAfter());
            // the reward model and the reference never receive gradients
            assertTrue(r.referenceFrozen());
            Map<String, HostTensor> after = reward.weights();
            for (var e : before.entrySet()) {
                assertArrayEquals(e.getValue().data(), after.get(e.getKey()).data(), e.getKey());
            }
            assertEquals(0.0, Gradients.absSum(reward.parameters().values()));
            assertTrue(Files.exists(r.policyDir().resolve("model.safetensors")));
            assertTrue(Files.exists(r.rewardChart()) && Files.exists(r.klChart()));
            assertTrue(Files.readAllLines(r.metrics()).size() >= 40);
        }
    }
}
