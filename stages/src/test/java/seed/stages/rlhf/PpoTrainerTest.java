package seed.stages.rlhf;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.checkpoint.HostTensor;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.data.InstructionDataset;
import seed.stages.data.InstructionExample;
import seed.stages.data.SyntheticInstructions;
import seed.stages.metrics.MetricsLog;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.train.TrainSettings;
import seed.stages.train.Trainer;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** PPO mechanics at a tiny size with a program reward: exact resume, guard rails, frozen reference, bad input. */
class PpoTrainerTest {

    static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    static Path shared;
    static Path sft;
    static Path prompts;

    @BeforeAll
    static void tinySft() throws Exception {
        GptConfig shape = new GptConfig(259, 96, 2, 32, 4);
        List<InstructionExample> examples = SyntheticInstructions.generate(1000, 4, 0.3, 11).stream()
                .map(e -> new InstructionExample(e.prompt(), e.response(), 0)).toList();
        ByteTokenizer tokenizer = new ByteTokenizer();
        sft = shared.resolve("sft");
        try (Gpt gpt = Gpt.initialize(shape, 5)) {
            InstructionDataset data = new InstructionDataset(examples, tokenizer, shape.context(), 16, 0.05, 3, false);
            new Trainer("sft", gpt, tokenizer, data, new TrainSettings(60, 16, 3e-3f, 3e-4f, 10, 0f, 1f, 60, 60, 1, 1, 60_000),
                    sft, QUIET).run(null, 0);
        }
        prompts = shared.resolve("prompts.jsonl");
        StringBuilder lines = new StringBuilder();
        for (var e : SyntheticInstructions.generate(60, 4, 0.5, 99)) {
            lines.append("{\"prompt\": \"").append(e.prompt()).append("\"}\n");
        }
        Files.writeString(prompts, lines);
    }

    static PpoSettings small(Path out, int iterations) {
        PpoSettings d = PpoSettings.defaults(sft, shared.resolve("no-rm"), prompts, out);
        return new PpoSettings(sft, d.reward(), prompts, out, iterations, 8, 2, 2, 3e-4f, d.clipRange(), d.valueClip(),
                d.valueCoef(), d.entropyCoef(), d.gamma(), d.lambda(), d.initKlCoef(), d.targetKl(), d.klHorizon(),
                d.klBound(), 40, 1.0f, 1.0, 5.0, true, null, 0.0, 1f, 4, true, 2, 7, 60_000, null);
    }

    @Test
    void resumeIsExact(@TempDir Path dir) throws Exception {
        PpoResult straight = PpoTrainer.train(small(dir.resolve("a"), 4), new RuleReward(), QUIET);
        PpoResult first = PpoTrainer.train(small(dir.resolve("b"), 4), new RuleReward(), QUIET, 3);
        assertTrue(first.stoppedEarly());
        assertNull(first.policyDir());
        PpoResult resumed = PpoTrainer.train(small(dir.resolve("b"), 4), new RuleReward(), QUIET);
        assertEquals(4, resumed.iterations());
        Map<String, HostTensor> a = SafeTensors.read(straight.policyDir().resolve("model.safetensors"));
        Map<String, HostTensor> b = SafeTensors.read(resumed.policyDir().resolve("model.safetensors"));
        for (var e : a.entrySet()) {
            assertArrayEquals(e.getValue().data(), b.get(e.getKey()).data(), e.getKey());
        }
        assertArrayEquals(SafeTensors.read(straight.policyDir().resolve(PpoTrainer.VALUE_HEAD)).get("value_head.weight").data(),
                SafeTensors.read(resumed.policyDir().resolve(PpoTrainer.VALUE_HEAD)).get("value_head.weight").data());
        assertEquals(straight.rewardAfter(), resumed.rewardAfter());
        assertEquals(straight.kl(), resumed.kl());
        List<Map<String, Object>> ma = MetricsLog.read(straight.metrics());
        List<Map<String, Object>> mb = MetricsLog.read(resumed.metrics());
        assertEquals(4, mb.size());
        for (int i = 0; i < 4; i++) {
            for (String k : List.of("reward", "kl", "kl_coef", "value_loss", "clip_fraction", "approx_kl", "entropy")) {
                assertEquals(ma.get(i).get(k), mb.get(i).get(k), "iteration " + (i + 1) + " " + k);
            }
        }
        assertTrue(straight.referenceFrozen() && resumed.referenceFrozen());
    }

    @Test
    void klGuardRailStopsTheRun(@TempDir Path dir) throws Exception {
        PpoSettings d = small(dir.resolve("run"), 6);
        // a huge step size and no KL penalty: the policy leaves the reference at once and the bound trips
        PpoSettings hot = new PpoSettings(d.policy(), d.reward(), d.prompts(), d.out(), 6, 8, 2, 4, 1e-2f, d.clipRange(),
                d.valueClip(), d.valueCoef(), 0, d.gamma(), d.lambda(), 0.0, 0.0, d.klHorizon(), 0.05, 40, 1.0f, 1.0, 5.0,
                true, null, 0, 1f, 4, true, 100, 7, 60_000, null);
        PpoResult r = PpoTrainer.train(hot, new RuleReward(), QUIET);
        assertTrue(r.stoppedEarly(), "expected the KL guard to stop the run");
        assertTrue(r.iterations() < 6);
        assertTrue(r.guardEvents().get(0).contains("exceeds the bound"), r.guardEvents().toString());
        assertTrue(Files.exists(dir.resolve("run/latest")), "a stopped run leaves a resumable checkpoint");
        assertTrue(r.referenceFrozen());
    }

    @Test
    void promptFilesWithoutUsablePromptsFailAndWriteNothing(@TempDir Path dir) throws Exception {
        Path tooLong = dir.resolve("long.jsonl");
        Files.writeString(tooLong, "{\"prompt\": \"" + "x".repeat(200) + "\"}\n\n{\"prompt\": \"   \"}\n");
        PpoSettings s = small(dir.resolve("out1"), 2);
        PpoSettings bad = new PpoSettings(s.policy(), s.reward(), tooLong, s.out(), 2, 8, 2, 2, 3e-4f, 0.2, 0.2, 0.1, 0, 1,
                0.95, 0.1, 2, 1000, 10, 40, 1f, 1, 5, false, null, 0, 1f, 4, true, 2, 7, 60_000, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PpoTrainer.train(bad, new RuleReward(), QUIET));
        assertTrue(e.getMessage().contains("no usable prompts"), e.getMessage());
        assertFalse(Files.exists(s.out()));

        Path broken = dir.resolve("broken.jsonl");
        Files.writeString(broken, "{\"prompt\": \"What is 1 plus 2?\"}\n{\"prompt\": 3}\n");
        PpoSettings bad2 = new PpoSettings(s.policy(), s.reward(), broken, dir.resolve("out2"), 2, 8, 2, 2, 3e-4f, 0.2, 0.2, 0.1,
                0, 1, 0.95, 0.1, 2, 1000, 10, 40, 1f, 1, 5, false, null, 0, 1f, 4, true, 2, 7, 60_000, null);
        e = assertThrows(IllegalArgumentException.class, () -> PpoTrainer.train(bad2, new RuleReward(), QUIET));
        assertTrue(e.getMessage().contains("broken.jsonl:2") && e.getMessage().contains("\"prompt\""), e.getMessage());
        assertFalse(Files.exists(dir.resolve("out2")));
    }

    @Test
    void ppoPtxAndEntropyBonusRun(@TempDir Path dir) throws Exception {
        Path sftData = dir.resolve("sft.jsonl");
        StringBuilder lines = new StringBuilder();
        for (var e : SyntheticInstructions.generate(50, 4, 0.5, 5)) {
            lines.append("{\"prompt\": \"").append(e.prompt()).append("\", \"response\": \"").append(e.response()).append("\"}\n");
        }
        Files.writeString(sftData, lines);
        PpoSettings d = small(dir.resolve("run"), 2);
        PpoSettings ptx = new PpoSettings(d.policy(), d.reward(), d.prompts(), d.out(), 2, 8, 2, 2, 3e-4f, d.clipRange(),
                d.valueClip(), d.valueCoef(), 0.01, d.gamma(), d.lambda(), d.initKlCoef(), d.targetKl(), d.klHorizon(),
                d.klBound(), 40, 1.0f, 1.0, 5.0, false, sftData, 0.5, 1f, 4, true, 2, 7, 60_000, null);
        Path heldOut = dir.resolve("held.jsonl");
        Files.writeString(heldOut, "{\"prompt\": \"What is 1 plus 1?\"}\n{\"prompt\": \"Add 2 and 2.\"}\n");
        PpoResult r = PpoTrainer.train(ptx.withHeldOutFile(heldOut), new RuleReward(), QUIET);
        List<Map<String, Object>> m = MetricsLog.read(r.metrics());
        double ptxLoss = ((Number) m.get(1).get("ptx_loss")).doubleValue();
        assertTrue(ptxLoss > 0 && Double.isFinite(ptxLoss), "ptx loss " + ptxLoss);
        assertTrue(r.referenceFrozen());
    }

    /** A hackable reward: pays for every '!' in the response, whatever else it says. */
    static final class BangReward implements RewardFunction {
        @Override
        public float[] score(List<Sample> samples) {
            float[] out = new float[samples.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = samples.get(i).response().chars().filter(c -> c == '!').count() / 4f;
            }
            return out;
        }

        @Override
        public void checkCompatible(seed.stages.tokenizer.Tokenizer policyTokenizer, int maxTokens) {
        }
    }

    @Test
    void aRewardHackedPolicyIsCaughtByTheGuardRailsAndTheIndependentCheck(@TempDir Path dir) throws Exception {
        PpoSettings d = small(dir.resolve("run"), 25);
        // no KL penalty, a large step: the policy learns to spam '!' (the design note's REINFORCE probe, reproduced)
        PpoSettings hack = new PpoSettings(d.policy(), d.reward(), d.prompts(), d.out(), 25, 8, 2, 4, 3e-3f, d.clipRange(),
                d.valueClip(), d.valueCoef(), 0, d.gamma(), d.lambda(), 0.0, 0.0, d.klHorizon(), 1e9, 40, 1.0f, 0.0, 10.0,
                false, null, 0, 1f, 4, false, 100, 7, 60_000, null);
        PpoResult r = PpoTrainer.train(hack, new BangReward(), System.out);
        System.out.printf("hacked: reward_gain=%.3f kl=%.3f rule %.3f -> %.3f degenerate %.3f events %s%n", r.rewardGain(),
                r.kl(), r.ruleRateBefore(), r.ruleRateAfter(), r.degenerateRateAfter(), r.guardEvents());
        assertTrue(r.rewardGain() > 0.5, "the hackable reward went up: " + r.rewardGain());
        assertTrue(r.ruleRateAfter() <= r.ruleRateBefore(), "the independent check must not improve");
        assertFalse(r.guardEvents().isEmpty(), "a guard rail must warn");
    }

    @Test
    void textHealthFlagsRepeats() {
        assertTrue(TextHealth.degenerate("aaaaaaaaaa"));
        assertTrue(TextHealth.degenerate("ab ab ab ab ab ab ab ab ab"));
        assertFalse(TextHealth.degenerate("Sure! 3 plus 4 is 7. Happy to help."));
        assertFalse(TextHealth.degenerate("7."));
    }
}
