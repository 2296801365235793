package seed.stages.rlhf;

import seed.stages.demo.PoliteCorrectRule;
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
        return PpoSettings.defaults(sft, shared.resolve("no-rm"), prompts, out)
                .withRollout(r -> new PpoSettings.Rollout(8, 1, 40, 1.0f, 1.0, 5.0, true))
                .withOptimisation(o -> o.withSchedule(2, 2).withLearningRate(3e-4f))
                .withGuards(g -> new PpoSettings.Guards(g.klBound(), true, 4, null))
                .withRun(new PpoSettings.Run(iterations, 7, 2, 60_000));
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = PpoSettings.Algorithm.class, names = {"PPO", "GRPO"})
    void resumeIsExact(PpoSettings.Algorithm algorithm, @TempDir Path dir) throws Exception {
        // temperature 0.7: the log-probabilities and KL of the update are taken at the sampling temperature
        java.util.function.Function<Path, PpoSettings> settings = out -> {
            PpoSettings s = small(out, 4).withRollout(r -> r.withTemperature(0.7f));
            return algorithm == PpoSettings.Algorithm.PPO ? s
                    : s.withAlgorithm(algorithm).withRollout(r -> r.withBatch(2, 4));
        };
        PpoResult straight = PpoTrainer.train(settings.apply(dir.resolve("a")), new RuleReward(), QUIET);
        PpoResult first = PpoTrainer.train(settings.apply(dir.resolve("b")), new RuleReward(), QUIET, 3);
        assertTrue(first.stoppedEarly());
        assertNull(first.policyDir());
        // the checkpoint carries the prompt position and the guard rails' first reward
        var state = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                seed.stages.checkpoint.Checkpoints.resolve(dir.resolve("b")).resolve("state.json").toFile());
        assertEquals(3L * settings.apply(dir).rollout().promptsPerIteration(), state.get("prompt_position").asLong());
        assertEquals(((Number) MetricsLog.read(first.metrics()).get(0).get("reward")).doubleValue(),
                state.get("first_reward").asDouble(), 1e-9);
        PpoResult resumed = PpoTrainer.train(settings.apply(dir.resolve("b")), new RuleReward(), QUIET);
        assertEquals(4, resumed.iterations());
        Map<String, HostTensor> a = SafeTensors.read(straight.policyDir().resolve("model.safetensors"));
        Map<String, HostTensor> b = SafeTensors.read(resumed.policyDir().resolve("model.safetensors"));
        for (var e : a.entrySet()) {
            assertArrayEquals(e.getValue().data(), b.get(e.getKey()).data(), e.getKey());
        }
        if (algorithm == PpoSettings.Algorithm.PPO) {
            assertArrayEquals(SafeTensors.read(straight.policyDir().resolve(PpoTrainer.VALUE_HEAD)).get("value_head.weight").data(),
                    SafeTensors.read(resumed.policyDir().resolve(PpoTrainer.VALUE_HEAD)).get("value_head.weight").data());
        } else {
            assertFalse(Files.exists(straight.policyDir().resolve(PpoTrainer.VALUE_HEAD)), "critic-free: no value head");
        }
        assertEquals(straight.rewardAfter(), resumed.rewardAfter());
        assertEquals(straight.kl(), resumed.kl());
        List<Map<String, Object>> ma = MetricsLog.read(straight.metrics());
        List<Map<String, Object>> mb = MetricsLog.read(resumed.metrics());
        assertEquals(4, mb.size());
        for (int i = 0; i < 4; i++) {
            for (String k : List.of("reward", "kl", "kl_coef", "value_loss", "clip_fraction", "approx_kl", "entropy")) {
                assertEquals(algorithm == PpoSettings.Algorithm.PPO || !k.equals("value_loss"), ma.get(i).containsKey(k), k);
                assertEquals(ma.get(i).get(k), mb.get(i).get(k), "iteration " + (i + 1) + " " + k);
            }
        }
        assertTrue(straight.referenceFrozen() && resumed.referenceFrozen());
    }

    @Test
    void resumeWithChangedSettingsIsRefusedNamingThem(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        PpoTrainer.train(small(out, 3), new RuleReward(), QUIET, 1);
        PpoSettings changed = small(out, 3).withSeed(8).withRollout(r -> r.withBatch(4, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PpoTrainer.train(changed, new RuleReward(), QUIET));
        assertTrue(e.getMessage().contains("run.seed: 7 -> 8"), e.getMessage());
        assertTrue(e.getMessage().contains("rollout.promptsPerIteration: 8 -> 4"), e.getMessage());
        assertFalse(e.getMessage().contains("learningRate"), e.getMessage());
        IllegalArgumentException steps = assertThrows(IllegalArgumentException.class,
                () -> PpoTrainer.train(small(out, 5), new RuleReward(), QUIET));
        assertTrue(steps.getMessage().contains("run.iterations: 3 -> 5"), steps.getMessage());
        // unchanged settings still resume
        assertEquals(3, PpoTrainer.train(small(out, 3), new RuleReward(), QUIET).iterations());
    }

    @Test
    void settingsRefuseTemperatureZeroAndCriticFreeWithOneSample() {
        PpoSettings d = small(shared.resolve("x"), 1);
        IllegalArgumentException t = assertThrows(IllegalArgumentException.class, () -> d.withRollout(r -> r.withTemperature(0f)));
        assertTrue(t.getMessage().contains("temperature must be > 0"), t.getMessage());
        IllegalArgumentException k = assertThrows(IllegalArgumentException.class,
                () -> new PpoSettings(d.policy(), d.reward(), d.prompts(), d.out(), PpoSettings.Algorithm.RLOO, d.rollout(),
                        d.optimisation(), d.kl(), d.guards(), d.run()));
        assertTrue(k.getMessage().contains("rloo needs at least 2 samples per prompt"), k.getMessage());
        assertEquals(8, d.withAlgorithm(PpoSettings.Algorithm.GRPO).rollout().sequences(), "same sequences per iteration");
        // groups as published: RLOO k = 4, GRPO k = 8 (TRL's num_generations; issue 22)
        PpoSettings wide = d.withRollout(r -> r.withBatch(32, 1));
        assertEquals(4, wide.withAlgorithm(PpoSettings.Algorithm.RLOO).rollout().samplesPerPrompt());
        assertEquals(8, wide.withAlgorithm(PpoSettings.Algorithm.RLOO).rollout().promptsPerIteration());
        assertEquals(8, wide.withAlgorithm(PpoSettings.Algorithm.GRPO).rollout().samplesPerPrompt());
        assertEquals(4, wide.withAlgorithm(PpoSettings.Algorithm.GRPO).rollout().promptsPerIteration());
        assertEquals(8, wide.withAlgorithm(PpoSettings.Algorithm.DR_GRPO).rollout().samplesPerPrompt());
    }

    @Test
    void logProbabilitiesAreTakenAtTheSamplingTemperature() {
        try (Gpt gpt = Gpt.initialize(new GptConfig(259, 16, 1, 16, 2), 3); ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            var g = new seed.stages.generate.Generation(new int[] {256, 65, 66, 257}, new int[] {67, 68, 258}, "CD",
                    seed.stages.generate.Generation.StopReason.END_OF_TEXT);
            RolloutBatch rb = new RolloutBatch(List.of(g), 258);
            float[] hot = rb.forward(m, gpt, null, 0.5f).logp().toFloatArray();
            float[] logits = gpt.forward(m.create(new long[] {256, 65, 66, 257, 67, 68, 258}, new ai.djl.ndarray.types.Shape(1, 7)))
                    .toFloatArray();
            for (int t = 0; t < 6; t++) {
                int target = (int) rb.targets[t];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int v = 0; v < 259; v++) {
                    max = Math.max(max, logits[t * 259 + v] / 0.5);
                }
                for (int v = 0; v < 259; v++) {
                    sum += Math.exp(logits[t * 259 + v] / 0.5 - max);
                }
                assertEquals(logits[t * 259 + target] / 0.5 - max - Math.log(sum), hot[t], 1e-4, "position " + t);
            }
        }
    }

    @Test
    void theReferenceIsCreatedWithoutGradients() {
        try (Gpt gpt = Gpt.initialize(new GptConfig(259, 16, 1, 16, 2), 3); Gpt ref = PpoTrainer.frozenCopy(gpt)) {
            assertTrue(gpt.parameters().values().stream().allMatch(ai.djl.ndarray.NDArray::hasGradient));
            assertTrue(ref.parameters().values().stream().noneMatch(ai.djl.ndarray.NDArray::hasGradient));
        }
    }

    @Test
    void klGuardRailStopsTheRun(@TempDir Path dir) throws Exception {
        // a huge step size and no KL penalty: the policy leaves the reference at once and the bound trips
        PpoSettings hot = small(dir.resolve("run"), 6).withOptimisation(o -> o.withSchedule(2, 4).withLearningRate(1e-2f))
                .withKl(new PpoSettings.KlControl(0, 0, 1000)).withGuards(g -> g.withKlBound(0.05, true))
                .withRun(new PpoSettings.Run(6, 7, 100, 60_000));
        PpoResult r = PpoTrainer.train(hot, new RuleReward(), QUIET);
        assertTrue(r.stoppedEarly(), "expected the KL guard to stop the run");
        assertTrue(r.iterations() < 6);
        assertTrue(r.guardEvents().get(0).contains("exceeds the bound"), r.guardEvents().toString());
        assertTrue(Files.exists(dir.resolve("run/latest")), "a stopped run leaves a resumable checkpoint");
        assertTrue(r.referenceFrozen());
    }

    @Test
    void promptsThatDoNotFitAreRefusedNamingTheLineOrCutWithTruncatePromptLeft(@TempDir Path dir) throws Exception {
        Path tooLong = dir.resolve("long.jsonl");
        Files.writeString(tooLong, "{\"prompt\": \"What is 1 plus 2?\"}\n{\"prompt\": \"" + "x".repeat(200)
                + " What is 3 plus 1?\"}\n\n{\"prompt\": \"   \"}\n{\"messages\": [{\"role\": \"user\", \"content\": \"Add 2 and 2.\"}]}\n");
        PpoSettings d = small(dir.resolve("out1"), 1).withRollout(r -> r.withBatch(2, 1)).withGuards(g -> new PpoSettings.Guards(10, true, 1, null));
        PpoSettings s = new PpoSettings(d.policy(), d.reward(), tooLong, d.out(), d.algorithm(), d.rollout(), d.optimisation(),
                d.kl(), d.guards(), d.run());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PpoTrainer.train(s, new RuleReward(), QUIET));
        assertTrue(e.getMessage().contains("long.jsonl:2") && e.getMessage().contains("--truncate-prompt left"), e.getMessage());
        assertFalse(Files.exists(s.out()));
        java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
        PpoResult cut = PpoTrainer.train(s, new RuleReward(), Evaluator.generic(),
                new seed.stages.data.Truncation(0, 0, seed.stages.data.Truncation.Prompt.LEFT, seed.stages.data.Truncation.Response.ERROR),
                new PrintStream(console, true), 0);
        assertEquals(1, cut.iterations());
        assertTrue(console.toString().contains("1 prompt(s) cut at the left"), console.toString());
        assertTrue(Double.isNaN(cut.ruleRateBefore()) && cut.checksBefore().isEmpty(), "no checks were given");

        Path broken = dir.resolve("broken.jsonl");
        Files.writeString(broken, "{\"prompt\": \"What is 1 plus 2?\"}\n{\"prompt\": 3}\n");
        PpoSettings bad2 = new PpoSettings(s.policy(), s.reward(), broken, dir.resolve("out2"), s.algorithm(), s.rollout(),
                s.optimisation(), s.kl(), s.guards(), s.run());
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
        PpoSettings ptx = small(dir.resolve("run"), 2).withOptimisation(o -> o.withEntropyCoef(0.01).withPtx(sftData, 0.5))
                .withRollout(r -> r.withScoreShaping(1.0, 5.0, false));
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
        // no KL penalty, a large step: the policy learns to spam '!' (the design note's REINFORCE probe, reproduced)
        PpoSettings hack = small(dir.resolve("run"), 25).withOptimisation(o -> o.withSchedule(2, 4).withLearningRate(3e-3f))
                .withKl(new PpoSettings.KlControl(0, 0, 1000)).withGuards(g -> g.withKlBound(1e9, false))
                .withRollout(r -> r.withScoreShaping(0.0, 10.0, false)).withRun(new PpoSettings.Run(25, 7, 100, 60_000));
        PpoResult r = PpoTrainer.train(hack, new BangReward(), PoliteCorrectRule.evaluator(), System.out, 0);
        System.out.printf("hacked: reward_gain=%.3f kl=%.3f rule %.3f -> %.3f degenerate %.3f events %s%n", r.rewardGain(),
                r.kl(), r.ruleRateBefore(), r.ruleRateAfter(), r.degenerateRateAfter(), r.guardEvents());
        // the hack shows in the rollouts the policy is trained on; how far it carries to the 4 held-out prompts at
        // this KL (~70-120 nats) is chaotic: 2.19 after 20 iterations and 0.06 after 24 on an AVX2 CPU, > 0.5 on AMX
        List<Map<String, Object>> m = MetricsLog.read(r.metrics());
        double first = ((Number) m.get(0).get("reward")).doubleValue();
        double last = ((Number) m.get(m.size() - 1).get("reward")).doubleValue();
        assertTrue(last - first > 0.5, "the hackable reward went up in the rollouts: " + first + " -> " + last);
        assertTrue(r.ruleRateAfter() <= r.ruleRateBefore(), "the independent check must not improve");
        assertFalse(r.guardEvents().isEmpty(), "a guard rail must warn");
    }

    /**
     * Keep-best (issue 22): a deliberately collapsing run (a reward for '!' spam, no KL penalty, a huge step, guard rails
     * that only warn) ends with a policy no worse than SFT, chosen on the selection half of the held-out prompts and
     * reported on the other half, and says which one it kept; kept at iteration 0, it is the SFT model's exact weights.
     * The check is "the answer ends" (a response passes a check only when it ended): the tiny SFT model's short
     * answers mostly do, the collapsed policy's '!' spam runs to the length limit.
     */
    @Test
    void aCollapsingRunEndsWithTheSftOrABetterPolicyAndSaysSo(@TempDir Path dir) throws Exception {
        PpoSettings hot = small(dir.resolve("run"), 10).withOptimisation(o -> o.withSchedule(2, 4).withLearningRate(5e-2f))
                .withKl(new PpoSettings.KlControl(0, 0, 1000))
                .withGuards(g -> new PpoSettings.Guards(1e9, false, 16, null))
                .withRollout(r -> r.withScoreShaping(0.0, 10.0, false)).withRun(new PpoSettings.Run(10, 7, 100, 60_000));
        Evaluator ends = new Evaluator(List.of(new Evaluator.Check("ends", (prompt, response) -> true)), 0.4, 4.0, 0.5, 0.5);
        PpoResult r = PpoTrainer.train(hot, new BangReward(), ends, System.out, 0);
        List<Map<String, Object>> m = MetricsLog.read(r.metrics());
        double lastRule = ((Number) m.get(m.size() - 1).get("ends_rate")).doubleValue();
        System.out.printf("collapse: ends %.3f -> %.3f, last rollouts' ends rate %.3f, kept iteration %d, below SFT %s, "
                + "events %s%n", r.ruleRateBefore(), r.ruleRateAfter(), lastRule, r.keptIteration(), r.policyBelowSft(),
                r.guardEvents());
        assertTrue(r.ruleRateBefore() > 0, "the SFT model's answers must end sometimes for the test to mean anything");
        assertTrue(lastRule < r.ruleRateBefore(), "the run must collapse: last rollouts' ends rate " + lastRule);
        assertTrue(r.keptIteration() < r.iterations(), "the collapsed final policy must not be kept");
        assertFalse(r.policyBelowSft());
        assertTrue(r.ruleRateAfter() >= r.ruleRateBefore(), r.ruleRateBefore() + " -> " + r.ruleRateAfter());
        assertTrue(r.guardEvents().stream().anyMatch(e -> e.startsWith("kept the")), r.guardEvents().toString());
        if (r.keptIteration() == 0) {
            try (Gpt kept = seed.stages.checkpoint.Checkpoints.loadModel(r.policyDir());
                 Gpt base = seed.stages.checkpoint.Checkpoints.loadModel(sft)) {
                Map<String, HostTensor> a = kept.weights();
                Map<String, HostTensor> b = base.weights();
                assertEquals(b.keySet(), a.keySet());
                b.forEach((k, v) -> assertArrayEquals(v.data(), a.get(k).data(), k));
            }
        }
    }

    /** A reward model that has learnt to like a word (as the demo's partly likes rude answers): +1 when it occurs. */
    static final class WordReward implements RewardFunction {
        @Override
        public float[] score(List<Sample> samples) {
            float[] out = new float[samples.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = samples.get(i).response().toLowerCase().contains("sure") ? 1f : 0f;
            }
            return out;
        }

        @Override
        public void checkCompatible(seed.stages.tokenizer.Tokenizer policyTokenizer, int maxTokens) {
        }
    }

    /**
     * A keyword penalty as a verifiable reward drives the penalised word down against a reward that favours it: the
     * reward pays +1 for "sure" (a quarter of the SFT model's answers say "Sure!"); the check "nosure" (passes without
     * the word) with weight 3 outweighs that. The same run (seeds, settings, evaluator) without the reward check is
     * the control, where the word goes up.
     */
    @Test
    void aKeywordPenaltyAsVerifiableRewardDrivesTheWordDown(@TempDir Path dir) throws Exception {
        Evaluator evaluator = Evaluator.generic().withChecks(
                List.of(seed.stages.checks.Check.parse("nosure:no-keywords=sure").toEvaluatorCheck()));
        VerifiableRewards penalty = new VerifiableRewards(List.of(new VerifiableRewards.Term(evaluator.checks().get(0), 3.0)));
        // an SFT model that has learnt the two answer styles (the shared one, 60 steps, writes mostly noise)
        GptConfig shape = new GptConfig(259, 96, 2, 32, 4);
        List<InstructionExample> examples = SyntheticInstructions.generate(1000, 4, 0.5, 11).stream()
                .map(e -> new InstructionExample(e.prompt(), e.response(), 0)).toList();
        Path styled = dir.resolve("sft");
        try (Gpt gpt = Gpt.initialize(shape, 5)) {
            InstructionDataset data = new InstructionDataset(examples, new ByteTokenizer(), shape.context(), 16, 0.05, 3, false);
            new Trainer("sft", gpt, new ByteTokenizer(), data, new TrainSettings(STYLED_SFT_STEPS, 16, 3e-3f, 3e-4f, 10, 0f,
                    1f, STYLED_SFT_STEPS, STYLED_SFT_STEPS, 1, 1, 60_000), styled, QUIET).run(null, 0);
        }
        java.util.function.Function<Path, PpoSettings> settings = out -> PpoSettings.defaults(styled,
                        shared.resolve("no-rm"), prompts, out)
                .withRollout(r -> new PpoSettings.Rollout(8, 1, 40, 1.0f, 1.0, 5.0, true))
                .withOptimisation(o -> o.withSchedule(2, 2))
                .withGuards(g -> new PpoSettings.Guards(g.klBound(), true, 4, null))
                .withRun(new PpoSettings.Run(12, 7, 2, 60_000))
                .withAlgorithm(PpoSettings.Algorithm.RLOO).withRollout(r -> r.withBatch(4, 4))
                .withOptimisation(o -> o.withLearningRate(1e-3f)).withGuards(g -> g.withKlBound(1e9, false));
        PpoResult control = PpoTrainer.train(settings.apply(dir.resolve("control")), new WordReward(), evaluator, QUIET, 0);
        PpoResult penalised = PpoTrainer.train(settings.apply(dir.resolve("penalised")), new WordReward(),
                evaluator.withRewards(penalty), QUIET, 0);
        double controlClean = lastMean(control.metrics(), "nosure_rate", 4);
        double penalisedClean = lastMean(penalised.metrics(), "nosure_rate", 4);
        double first = ((Number) MetricsLog.read(penalised.metrics()).get(0).get("nosure_rate")).doubleValue();
        System.out.printf("keyword penalty: rollout rate without 'sure' (last 4 iterations) control %.3f, penalised "
                + "%.3f (first iteration %.3f); held-out %.3f -> %.3f (control) vs %.3f%n", controlClean, penalisedClean,
                first, control.checksBefore().get("nosure"), control.checksAfter().get("nosure"),
                penalised.checksAfter().get("nosure"));
        assertTrue(penalisedClean > controlClean + 0.15, "the penalty must lower the word's rate: control "
                + controlClean + ", penalised " + penalisedClean);
        assertTrue(penalised.checksAfter().get("nosure") >= control.checksAfter().get("nosure"));
        // logged per check in the penalised run only
        Map<String, Object> last = MetricsLog.read(penalised.metrics()).get(11);
        assertEquals(3.0 * ((Number) last.get("reward_check_nosure_pass")).doubleValue(),
                ((Number) last.get("reward_check_nosure")).doubleValue(), 1e-9);
        assertFalse(MetricsLog.read(control.metrics()).get(11).containsKey("reward_check_nosure"));
        // the reward checks are part of the resume fingerprint: adding or dropping them on resume is refused
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PpoTrainer.train(
                settings.apply(dir.resolve("control")), new WordReward(), evaluator.withRewards(penalty), QUIET, 0));
        assertTrue(e.getMessage().contains("reward_checks"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PpoTrainer.train(settings.apply(dir.resolve("penalised")),
                new WordReward(), evaluator, QUIET, 0));
        assertTrue(e.getMessage().contains("reward_checks"), e.getMessage());
    }

    static final int STYLED_SFT_STEPS = 400;

    private static double lastMean(Path metrics, String key, int n) throws java.io.IOException {
        List<Map<String, Object>> m = MetricsLog.read(metrics);
        return m.subList(m.size() - n, m.size()).stream().mapToDouble(r -> ((Number) r.get(key)).doubleValue())
                .average().orElseThrow();
    }

    @Test
    void textHealthFlagsRepeats() {
        assertTrue(TextHealth.degenerate("aaaaaaaaaa"));
        assertTrue(TextHealth.degenerate("ab ab ab ab ab ab ab ab ab"));
        assertFalse(TextHealth.degenerate("Sure! 3 plus 4 is 7. Happy to help."));
        assertFalse(TextHealth.degenerate("7."));
    }
}
