package seed.reward;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.reward.data.PreferenceData;
import seed.reward.data.PromptGroup;
import seed.reward.data.RankingsFile;
import seed.reward.demo.SyntheticPreferences;
import seed.stages.checkpoint.HostTensor;
import seed.stages.data.SyntheticInstructions;
import seed.stages.rlhf.Gradients;
import seed.stages.demo.PoliteCorrectRule;
import seed.stages.rlhf.PpoResult;
import seed.stages.rlhf.PpoSettings;
import seed.stages.rlhf.PpoTrainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

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
        rm = RewardModelTrainer.train(RewardSettings.defaults(sft, rankings, shared.resolve("rm")).withTruncation(CUT));
        System.out.printf("tiny SFT %.1f s, reward model %.1f s: val_accuracy=%.4f val_loss=%.4f%n", (t1 - t0) / 1e9,
                (System.nanoTime() - t1) / 1e9, rm.valAccuracy(), rm.valLoss());
    }

    @Test
    void rewardModelLearnsTheStyleFirstRule() throws Exception {
        // measured 0.93, 0.93 and 0.87 for this seed in three processes (with the same code a process repeats bit for
        // bit; those runs most likely resolved different stages builds from a shared ~/.m2, see reward-model/README.md)
        assertTrue(rm.valAccuracy() >= 0.85, "held-out pairwise accuracy " + rm.valAccuracy());
        assertTrue(rm.heldOutPairs() > 100, "held-out pairs " + rm.heldOutPairs());
        // per-category accuracy, printed for the report: style and format are learned; sums are the hard part
        PreferenceData data = PreferenceData.split(RankingsFile.read(rankings), 0.1, 1);
        try (RewardModel model = RewardModelFiles.load(rm.outDir())) {
            PairAccuracy.of(model, data.heldOut()).print("  ");
            float[] s = model.score(List.of("What is 3 plus 4?", "What is 3 plus 4?", "What is 3 plus 4?"),
                    List.of("Sure! 3 plus 4 is 7. Happy to help.", "7.", "zzzzzzzzzz"));
            assertTrue(s[0] > s[1] && s[1] > s[2], Arrays.toString(s));
            RewardModelFiles.Info info = RewardModelFiles.readInfo(rm.modelDir());
            assertEquals(rm.valAccuracy(), info.valAccuracy(), 1e-12);
            assertTrue(info.std() > 0);
        }
        assertTrue(Files.exists(rm.chart()));
    }

    /**
     * Rankers who put correctness first (the right sum beats any wrong sum, then polite beats curt; 40% wrong
     * candidates): the reward model must check sums, not only see style. With the end-token read-out this SFT gave
     * 0.76-0.83 held-out across three splits and 0.80-0.85 with 5x the steps; reading the backbone's own
     * log-probability of the response as well gave 0.93-0.94 (reward-model/README.md). Held-out twice: the trainer's
     * split (~10 prompts, ~230 pairs) and 4000 fresh rankings of those same unseen prompts (~2100 pairs), so that the
     * bar is not met by a lucky draw of candidates.
     */
    @Test
    void correctnessFirstRankingsReachNinetyPercentHeldOut(@TempDir Path dir) throws Exception {
        SyntheticPreferences.Settings rule = new SyntheticPreferences.Settings(400, 4, TinySft.MAX_OPERAND, 0.5, 0.4, 0.1,
                0.0, 7, true);
        Path file = dir.resolve("correctness-first.jsonl");
        RankingsFile.write(file, SyntheticPreferences.generate(rule));
        RewardSettings s = RewardSettings.defaults(sft, file, dir.resolve("rm")).withTruncation(CUT).withSteps(CORRECTNESS_STEPS)
                .withReadout(RewardModel.Readout.END_LOGPROB);
        long t0 = System.nanoTime();
        RewardResult r = RewardModelTrainer.train(s, QUIET, 0);
        // the same held-out prompts (the trainer's split), 4000 fresh rankings of them from another generator seed
        PreferenceData split = PreferenceData.split(RankingsFile.read(file), s.heldOutFraction(), s.seed());
        java.util.Set<String> unseen = new java.util.HashSet<>();
        split.heldOut().forEach(g -> unseen.add(g.prompt()));
        split.train().forEach(g -> assertFalse(unseen.contains(g.prompt()), "a held-out prompt is trained on"));
        List<PromptGroup> fresh = PreferenceData.mergeByPrompt(SyntheticPreferences.generate(new SyntheticPreferences.Settings(
                4000, 4, TinySft.MAX_OPERAND, 0.5, 0.4, 0.1, 0.0, 1234, true)).stream()
                .filter(x -> unseen.contains(x.prompt())).toList());
        PairAccuracy accuracy;
        try (RewardModel model = RewardModelFiles.load(r.modelDir())) {
            assertEquals(RewardModel.Readout.END_LOGPROB, model.readout(), "the saved model keeps its read-out");
            accuracy = PairAccuracy.of(model, fresh);
        }
        Map<String, int[]> byCategory = accuracy.byCategory;
        int pairs = accuracy.pairs();
        double fresh4000 = accuracy.accuracy();
        System.out.printf("correctness-first: val_accuracy=%.4f val_loss=%.4f (%d held-out pairs), fresh rankings of the "
                        + "held-out prompts %.4f (%d pairs), %.1f s%n", r.valAccuracy(), r.valLoss(), r.heldOutPairs(),
                fresh4000, pairs, (System.nanoTime() - t0) / 1e9);
        accuracy.print("  ");
        assertTrue(r.heldOutPairs() > 100, "held-out pairs " + r.heldOutPairs());
        assertTrue(pairs > 1000, "fresh held-out pairs " + pairs);
        assertTrue(r.valAccuracy() >= 0.90, "held-out pairwise accuracy " + r.valAccuracy());
        assertTrue(fresh4000 >= 0.90, "pairwise accuracy on fresh rankings of the held-out prompts " + fresh4000);
        // the sum is checked, not only the style: wrong sums lose within each style
        for (String pair : List.of("CURT_CORRECT > CURT_WRONG", "POLITE_CORRECT > POLITE_WRONG")) {
            int[] c = byCategory.get(pair);
            assertTrue(c[0] >= 0.9 * c[1], pair + ": " + c[0] + "/" + c[1]);
        }
    }

    /** Reward-model steps of the correctness-first test (the rule needs more passes than style-first's 200). */
    static final int CORRECTNESS_STEPS = 400;

    /** Side-by-side numbers of the three algorithms, printed after the class (they are the closing note's table). */
    static final java.util.Map<String, String> SIDE_BY_SIDE = new java.util.concurrent.ConcurrentSkipListMap<>();

    @org.junit.jupiter.api.AfterAll
    static void printSideBySide() {
        SIDE_BY_SIDE.forEach((k, v) -> System.out.println("side-by-side " + k + ": " + v));
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(PpoSettings.Algorithm.class)
    void rlRaisesRewardAndTheIndependentRuleWithinTheKlBound(PpoSettings.Algorithm algorithm, @TempDir Path out) throws Exception {
        double klBound = 10.0;
        // the same 32 sequences per iteration: PPO 32 prompts x 1, RLOO 8 prompts x 4, GRPO and Dr. GRPO 4 x 8
        PpoSettings settings = PpoSettings.defaults(sft, rm.modelDir(), prompts, out.resolve("rl")).withIterations(40)
                .withAlgorithm(algorithm);
        if (algorithm == PpoSettings.Algorithm.GRPO) {
            // the k3 term is averaged per token (TRL), ~length times weaker than the same beta on the response's KL
            // in the reward: at 0.1 the tiny run drifted to KL ~2.8 with the rule rate +0.09..+0.22 over two runs
            settings = settings.withKl(new PpoSettings.KlControl(1.0, settings.kl().target(), settings.kl().horizon()));
        }
        assertEquals(klBound, settings.klBound());
        assertEquals(32, settings.rollout().sequences());
        try (RewardModel reward = RewardModelFiles.load(rm.modelDir())) {
            Map<String, HostTensor> before = reward.weights();
            long t0 = System.nanoTime();
            PpoResult r = PpoTrainer.train(settings, reward, PoliteCorrectRule.evaluator(), System.out, 0);
            String line = String.format("reward_gain=%.4f kl=%.4f rule_rate %.3f -> %.3f, length %.1f -> %.1f, degenerate %.3f, %.1f s",
                    r.rewardGain(), r.kl(), r.ruleRateBefore(), r.ruleRateAfter(), r.meanLengthBefore(), r.meanLengthAfter(),
                    r.degenerateRateAfter(), (System.nanoTime() - t0) / 1e9);
            SIDE_BY_SIDE.put(algorithm.name().toLowerCase(), line);
            System.out.println(algorithm + " " + line);
            assertEquals(algorithm.cliName(), r.algorithm());
            assertFalse(r.stoppedEarly(), "guard rail fired: " + r.guardEvents());
            assertTrue(r.rewardGain() > 0.2, "reward gain " + r.rewardGain());
            assertTrue(r.ruleRateAfter() >= r.ruleRateBefore() + 0.1,
                    "independent rule metric " + r.ruleRateBefore() + " -> " + r.ruleRateAfter());
            assertEquals(r.ruleRateAfter(), r.checksAfter().get("rule"));
            assertTrue(r.kl() < klBound, "KL " + r.kl());
            assertTrue(r.degenerateRateAfter() < 0.1, "degenerate " + r.degenerateRateAfter());
            // the reward model and the reference never receive gradients; the reward model's parameters require none
            assertTrue(r.referenceFrozen());
            Map<String, HostTensor> after = reward.weights();
            for (var e : before.entrySet()) {
                assertArrayEquals(e.getValue().data(), after.get(e.getKey()).data(), e.getKey());
            }
            assertTrue(reward.parameters().values().stream().noneMatch(ai.djl.ndarray.NDArray::hasGradient));
            assertEquals(0.0, Gradients.absSum(reward.parameters().values()));
            assertTrue(Files.exists(r.policyDir().resolve("model.safetensors")));
            assertTrue(Files.exists(r.rewardChart()) && Files.exists(r.klChart()));
            assertTrue(Files.readAllLines(r.metrics()).size() >= 40);
        }
    }

    @Test
    void rewardModelResumeIsExact(@TempDir Path dir) throws Exception {
        RewardSettings base = RewardSettings.defaults(sft, rankings, dir.resolve("a"));
        // with early stopping on: its state (best loss, best step) is part of the checkpoint
        RewardSettings s = new RewardSettings(sft, rankings, dir.resolve("a"), 16, 4, 1e-3f, 1e-4f, 4, 0f, 1f, 0.1, 4, 8,
                3, base.logEveryMs(), 10, CUT);
        RewardResult straight = RewardModelTrainer.train(s, QUIET, 0);
        RewardSettings b = s.withOut(dir.resolve("b"));
        assertNull(RewardModelTrainer.train(b, QUIET, 5).modelDir());
        RewardResult resumed = RewardModelTrainer.train(b, QUIET, 0);
        assertEquals(straight.valAccuracy(), resumed.valAccuracy());
        assertEquals(straight.valLoss(), resumed.valLoss());
        var wa = seed.stages.checkpoint.SafeTensors.read(straight.modelDir().resolve("model.safetensors"));
        var wb = seed.stages.checkpoint.SafeTensors.read(resumed.modelDir().resolve("model.safetensors"));
        for (var e : wa.entrySet()) {
            assertArrayEquals(e.getValue().data(), wb.get(e.getKey()).data(), e.getKey());
        }
        // a changed setting is refused with its name
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RewardModelTrainer.train(b.withSteps(20), QUIET, 0));
        assertTrue(e.getMessage().contains("steps: 16 -> 20"), e.getMessage());
    }

    @Test
    void earlyStoppingKeepsTheModelOfTheBestHeldOutLoss(@TempDir Path dir) throws Exception {
        // a learning rate far too high: the held-out loss soon stops improving
        RewardSettings s = RewardSettings.defaults(sft, rankings, dir.resolve("rm")).withTruncation(CUT).withSteps(60)
                .withLearningRate(2e-2f, 2e-2f).withEarlyStopping(3, 2);
        RewardResult r = RewardModelTrainer.train(s, QUIET, 0);
        List<Map<String, Object>> m = seed.stages.metrics.MetricsLog.read(r.metrics());
        assertTrue(m.size() < 60, "stopped early: " + m.size() + " steps");
        double best = m.stream().filter(x -> x.containsKey("val_loss")).mapToDouble(x -> ((Number) x.get("val_loss")).doubleValue())
                .min().orElseThrow();
        assertEquals(best, r.valLoss(), 1e-5, "the kept model is the best one");
        assertEquals(best, RewardModelFiles.readInfo(r.modelDir()).valLoss(), 1e-5);
    }

    @Test
    void badRankingsFailWithLineNumberAndWriteNothing(@TempDir Path dir) throws Exception {
        String good = "{\"prompt\":\"What is 1 plus 2?\",\"responses\":[\"3.\",\"4.\"],\"ranking\":[0,1]}\n";
        Map<String, String> cases = Map.of(
                "{\"prompt\":\"p\",\"responses\":[\"a\",\"b\",\"c\"],\"ranking\":[0,1,1]}", "not a permutation",
                "{\"prompt\":\"p\",\"responses\":[\"a\",\"b\"],\"ranking\":[0,3]}", "out of range",
                "{\"prompt\":\"p\",\"responses\":[\"a\"],\"ranking\":[0]}", "at least 2");
        int n = 0;
        for (var c : cases.entrySet()) {
            Path file = dir.resolve("bad" + n + ".jsonl");
            Files.writeString(file, good + c.getKey() + "\n");
            Path out = dir.resolve("out" + n++);
            Exception e = assertThrows(RuntimeException.class,
                    () -> RewardModelTrainer.train(RewardSettings.defaults(sft, file, out), QUIET, 0));
            assertTrue(e.getMessage().contains(":2: "), e.getMessage());
            assertTrue(e.getMessage().contains(c.getValue().equals("not a permutation") ? "repeats index" : c.getValue()), e.getMessage());
            assertFalse(Files.exists(out), "nothing may be written for bad input");
        }
        // a base that is not a checkpoint
        Path out = dir.resolve("out-nobase");
        assertThrows(java.io.IOException.class,
                () -> RewardModelTrainer.train(RewardSettings.defaults(dir.resolve("missing"), rankings, out), QUIET, 0));
        assertFalse(Files.exists(out));
        // the CLI exits non-zero with the message
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cli = new picocli.CommandLine(new seed.reward.cli.RewardCommand());
        cli.setExecutionExceptionHandler(new seed.stages.cli.CliErrors());
        cli.setErr(new java.io.PrintWriter(err));
        int code = cli.execute("train", "--base", sft.toString(), "--rankings", dir.resolve("bad0.jsonl").toString(),
                "--out", dir.resolve("cli-out").toString());
        assertNotEquals(0, code);
        assertTrue(err.toString().contains("bad0.jsonl:2:"), err.toString());
        assertFalse(Files.exists(dir.resolve("cli-out")));
    }

    @Test
    void rewardModelThatDoesNotFitThePolicyIsRejectedBeforeAnythingIsWritten(@TempDir Path dir) throws Exception {
        // shape: a reward model whose context is shorter than the policy's prompts + responses
        try (RewardModel small = RewardModel.withFreshHead(seed.stages.model.Gpt.initialize(
                new seed.stages.model.GptConfig(259, 32, 1, 32, 4), 1), new seed.stages.tokenizer.ByteTokenizer())) {
            PpoSettings s = PpoSettings.defaults(sft, dir, prompts, dir.resolve("out"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PpoTrainer.train(s, small, QUIET));
            assertTrue(e.getMessage().contains("reward model's context is 32"), e.getMessage());
        }
        // tokenizer: same size, different encoding
        seed.stages.tokenizer.Tokenizer shifted = new seed.stages.tokenizer.Tokenizer() {
            final seed.stages.tokenizer.ByteTokenizer bytes = new seed.stages.tokenizer.ByteTokenizer();
            public int[] encode(String text) { return java.util.Arrays.stream(bytes.encode(text)).map(i -> (i + 1) % 256).toArray(); }
            public String decode(int[] ids) { return bytes.decode(java.util.Arrays.stream(ids).map(i -> i < 256 ? (i + 255) % 256 : i).toArray()); }
            public int vocabSize() { return 259; }
            public int endOfTextId() { return bytes.endOfTextId(); }
            public int promptId() { return bytes.promptId(); }
            public int responseId() { return bytes.responseId(); }
            public String kind() { return "bytes"; }
            public void save(Path d) { }
        };
        try (RewardModel other = RewardModel.withFreshHead(seed.stages.model.Gpt.initialize(TinySft.SHAPE, 1), shifted)) {
            PpoSettings s = PpoSettings.defaults(sft, dir, prompts, dir.resolve("out"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PpoTrainer.train(s, other, QUIET));
            assertTrue(e.getMessage().contains("encodes text differently"), e.getMessage());
        }
        assertFalse(Files.exists(dir.resolve("out")));
    }


    /** Runs a command in-process with System.out captured; returns {exit code, stdout}. */
    private static Object[] run(picocli.CommandLine cli, String... args) {
        java.io.PrintStream saved = System.out;
        java.io.ByteArrayOutputStream buffer = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(buffer, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            cli.setExecutionExceptionHandler(new seed.stages.cli.CliErrors());
            int code = cli.execute(args);
            return new Object[] {code, buffer.toString(java.nio.charset.StandardCharsets.UTF_8)};
        } finally {
            System.setOut(saved);
        }
    }

    private static String lastLine(String text) {
        String[] lines = text.strip().split("\\R");
        return lines[lines.length - 1];
    }

    @Test
    void commandsPrintTheirContractLines(@TempDir Path dir) {
        Object[] train = run(new picocli.CommandLine(new seed.reward.cli.RewardCommand()), "train", "--base", sft.toString(),
                "--rankings", rankings.toString(), "--out", dir.resolve("rm").toString(), "--steps", "6", "--eval-every", "6", "--truncate-response", "right");
        assertEquals(0, train[0], (String) train[1]);
        assertTrue(lastLine((String) train[1]).matches("val_accuracy=\\d\\.\\d{4}"), lastLine((String) train[1]));

        Object[] score = run(new picocli.CommandLine(new seed.reward.cli.RewardCommand()), "score", "--model",
                rm.modelDir().toString(), "--prompt", "What is 1 plus 1?", "--response", "2.");
        assertEquals(0, score[0]);
        assertTrue(lastLine((String) score[1]).startsWith("reward="), (String) score[1]);

        Object[] ppo = run(new picocli.CommandLine(new seed.stages.cli.RlhfCommand(RewardModelFiles::load)), "--policy",
                sft.toString(), "--reward", rm.outDir().toString(), "--prompts", prompts.toString(), "--out",
                dir.resolve("ppo").toString(), "--iterations", "2", "--rollout-batch", "8", "--held-out", "8");
        assertEquals(0, ppo[0], (String) ppo[1]);
        String out = (String) ppo[1];
        assertTrue(lastLine(out).matches("reward_gain=-?\\d+\\.\\d{4} kl=-?\\d+\\.\\d{4}"), lastLine(out));
        for (String metric : List.of("reward", "kl", "entropy", "length", "clip_frac", "value_loss", "approx_kl")) {
            assertTrue(out.contains(metric + " "), "console line lacks " + metric);
        }
        assertTrue(out.contains("rlhf      2/2"), "one console line per iteration");
    }

    /**
     * The synthetic annotators' malformed "answer answer" responses plus a long prompt exceed the 96-token context:
     * they are cut at the right (they stay malformed, and have no end token).
     */
    static final seed.stages.data.Truncation CUT = new seed.stages.data.Truncation(0, 0,
            seed.stages.data.Truncation.Prompt.LEFT, seed.stages.data.Truncation.Response.RIGHT);

    static final java.io.PrintStream QUIET = new java.io.PrintStream(java.io.OutputStream.nullOutputStream());
}
