package seed.workflows.tasks;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import jakarta.validation.constraints.NotNull;
import java.util.Map;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.stages.checks.Check;
import seed.stages.data.Truncation;
import seed.stages.rlhf.Evaluator;
import seed.stages.rlhf.PpoResult;
import seed.stages.rlhf.PpoSettings;

/** Stage 3 as a Kestra task: PPO against a frozen reference, driven by the reward model. */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "RLHF: PPO of the SFT policy against the reward model, with KL control and guard rails (stage 3).")
@Plugin(examples = @Example(title = "PPO-ptx", full = true, code = """
        id: rlhf
        namespace: seed
        tasks:
          - id: rlhf
            type: seed.workflows.tasks.Rlhf
            policy: "{{ outputs.sft.checkpoint }}"
            reward: "{{ outputs.reward.model }}"
            prompts: /data/prompts.jsonl
            heldOutPrompts: /data/heldout.jsonl
            ptxData: /data/sft.jsonl
            iterations: 40
            checks: ["safe:no-keywords=idiot,stupid"]
            rewardChecks:
              safe: 1.0
        """))
public class Rlhf extends AdaptedTrainingTask<Rlhf.Output> {

    @Schema(title = "SFT checkpoint: the starting policy and the frozen reference")
    @NotNull
    private Property<String> policy;

    @Schema(title = "Reward model folder")
    @NotNull
    private Property<String> reward;

    @Schema(title = "Rollout prompts (JSONL)")
    @NotNull
    private Property<String> prompts;

    @Schema(title = "Held-out prompts for the before/after measurement (JSONL)")
    @NotNull
    private Property<String> heldOutPrompts;

    @Schema(title = "SFT data mixed in as PPO-ptx (InstructGPT); empty = off")
    private Property<String> ptxData;

    @Schema(title = "Weight of the PPO-ptx language-model loss")
    @Builder.Default
    private Property<Double> ptxCoef = Property.ofValue(0.5);

    @Schema(title = "PPO iterations")
    @Builder.Default
    private Property<Integer> iterations = Property.ofValue(40);

    @Schema(title = "RL method: 'ppo' (value head + GAE), 'rloo' (leave-one-out baseline), 'grpo' (group z-score, k3 KL "
            + "in the loss) or 'dr-grpo' (group-centred)", allowableValues = {"ppo", "rloo", "grpo", "dr-grpo"},
            description = "RLOO and GRPO sample several responses per prompt (default 4, on a quarter of PPO's prompts: "
                    + "the same sequences per iteration) and need no critic.")
    @Builder.Default
    @NotNull
    private Property<Method> algorithm = Property.ofValue(Method.PPO);

    @Schema(title = "Responses sampled per prompt (0 = the algorithm's default: 1 for ppo, 4 for rloo and grpo; "
            + "rloo and grpo need at least 2)")
    @Builder.Default
    private Property<Integer> samplesPerPrompt = Property.ofValue(0);

    @Schema(title = "Independent checks reported before/after as <name>_rate, each [name:]kind[=argument] as `seed rlhf "
            + "--check` (polite-correct, regex=, not-regex=, keywords=, no-keywords=, max-length=, json)",
            description = "Empty (the default): no checks. The guard thresholds are inputs of their own.")
    @Builder.Default
    private Property<java.util.List<String>> checks = Property.ofValue(java.util.List.of());

    @Schema(title = "Checks used as verifiable rewards beside the reward model (TRL's reward_funcs): name or check spec "
            + "-> weight", description = "Per rollout, reward = model score + sum of weight x (1 when the check passes, "
            + "else 0), before every algorithm's advantages. A key is a name from `checks` or a [name:]kind[=argument] "
            + "spec; a positive weight rewards passing. Empty (the default): the reward model alone. As `seed rlhf "
            + "--reward-check`.")
    @Builder.Default
    private Property<Map<String, Object>> rewardChecks = Property.ofValue(Map.of());

    /** The rendered {@code rewardChecks}: weights as numbers (a flow may write 1 or "1.0"), in the flow's order. */
    static Map<String, Double> weights(Map<?, ?> rendered) {
        Map<String, Double> out = new LinkedHashMap<>();
        rendered.forEach((k, v) -> {
            try {
                out.put(String.valueOf(k), v instanceof Number n ? n.doubleValue() : Double.parseDouble(String.valueOf(v)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("input 'rewardChecks': the weight of '" + k + "' is not a number: '"
                        + v + "'");
            }
        });
        return out;
    }

    @Schema(title = "Guard rail: stop when the reward climbs while the mean length falls below this fraction of SFT's")
    @Builder.Default
    @NotNull
    private Property<Double> collapseBelow = Property.ofValue(Evaluator.generic().collapseBelow());

    @Schema(title = "Guard rail: stop when the reward climbs while the mean length exceeds this multiple of SFT's")
    @Builder.Default
    @NotNull
    private Property<Double> explodeAbove = Property.ofValue(Evaluator.generic().explodeAbove());

    @Schema(title = "Guard rail: stop when the reward climbs while fewer than this share of responses end properly")
    @Builder.Default
    @NotNull
    private Property<Double> minEndRate = Property.ofValue(Evaluator.generic().minEndRate());

    @Schema(title = "Guard rail: stop when more than this share of responses is degenerate text")
    @Builder.Default
    @NotNull
    private Property<Double> maxDegenerate = Property.ofValue(Evaluator.generic().maxDegenerate());

    /** The RL methods, as flows spell them ({@code ppo}, {@code rloo}, {@code grpo}, {@code dr-grpo}). */
    public enum Method {
        PPO, RLOO, GRPO, DR_GRPO;

        /** Accepts the flows' lower-case spelling and the constant's name. */
        @JsonCreator
        public static Method of(String value) {
            return valueOf(PpoSettings.Algorithm.parse(value).name());
        }

        @JsonValue
        public String spelling() {
            return PpoSettings.Algorithm.valueOf(name()).cliName();
        }
    }

    /** Trains: one training stage at a time per process ({@link TrainingGate}). */
    @Override
    protected boolean recordsGradients() {
        return true;
    }

    @Override
    protected Output execute(RunContext rc) throws Exception {
        Path policyDir = existing(rc, policy, "policy");
        Path rewardDir = existing(rc, reward, "reward");
        Path promptFile = existing(rc, prompts, "prompts");
        Path heldOut = existing(rc, heldOutPrompts, "heldOutPrompts");
        String ptx = optional(rc, ptxData, String.class, "");
        Path ptxFile = ptx.isBlank() ? null : existing(rc, ptxData, "ptxData");
        double coef = required(rc, ptxCoef, "ptxCoef", Double.class);
        int n = required(rc, iterations, "iterations", Integer.class);
        PpoSettings.Algorithm method = PpoSettings.Algorithm.valueOf(required(rc, algorithm, "algorithm", Method.class)
                .name());
        int samples = required(rc, samplesPerPrompt, "samplesPerPrompt", Integer.class);
        if (samples < 0) {
            throw new IllegalArgumentException("input 'samplesPerPrompt' must be >= 0 (0 = the algorithm's default), got "
                    + samples);
        }
        @SuppressWarnings("unchecked")
        java.util.List<String> checkSpecs = checks == null ? java.util.List.of()
                : (java.util.List<String>) rc.render(checks).asList(String.class);
        List<Check> parsedChecks = Check.parseAll(checkSpecs);
        Map<String, Double> rewardWeights = weights(rewardChecks == null ? Map.of()
                : rc.render(rewardChecks).asMap(String.class, Object.class));
        Evaluator evaluator = new Evaluator(List.of(), required(rc, collapseBelow, "collapseBelow", Double.class),
                required(rc, explodeAbove, "explodeAbove", Double.class),
                required(rc, minEndRate, "minEndRate", Double.class),
                required(rc, maxDegenerate, "maxDegenerate", Double.class)).withChecks(
                parsedChecks.stream().map(Check::toEvaluatorCheck).toList())
                .withRewards(Check.rewards(rewardWeights, parsedChecks));
        Truncation truncation = truncation(rc);
        Map<String, Path> inputs = new LinkedHashMap<>();
        inputs.put("policy", policyDir);
        inputs.put("reward", rewardDir);
        inputs.put("prompts", promptFile);
        inputs.put("held_out_prompts", heldOut);
        if (ptxFile != null) {
            inputs.put("ptx_data", ptxFile);
        }
        PpoSettings shape = settings(policyDir, rewardDir, promptFile, Path.of("out"), n, heldOut, ptxFile, coef, method,
                samples).withLora(lora(rc));
        // the algorithm and samples per prompt are part of PpoSettings (so of the hash); truncation is passed beside it
        Map<String, Object> settings = Settings.of(shape, "policy", "reward", "prompts", "out", "ptxData",
                "heldOutFile");
        settings.put("truncation", describe(truncation));
        settings.put("checks", checkSpecs);
        if (!evaluator.rewards().isEmpty()) {
            settings.put("reward_checks", new java.util.TreeMap<>(rewardWeights)); // part of the hash only when set
        }
        settings.put("guards", List.of(evaluator.collapseBelow(), evaluator.explodeAbove(), evaluator.minEndRate(),
                evaluator.maxDegenerate()));
        Result r = stage(rc, "rlhf", settings, inputs, (dir, console) -> {
            // the configured independent checks (the demo's: polite and correct) and their guard thresholds
            PpoResult t = seed.reward.Rlhf.train(shape.withOut(dir), evaluator, truncation, console);
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("algorithm", t.algorithm());
            metrics.put("samples_per_prompt", shape.rollout().samplesPerPrompt());
            metrics.put("reward_gain", t.rewardGain());
            metrics.put("kl", t.kl());
            metrics.put("reward_before", t.rewardBefore());
            metrics.put("reward_after", t.rewardAfter());
            // the first check's rates (absent without checks), then every check's
            if (!Double.isNaN(t.ruleRateBefore())) {
                metrics.put("rule_rate_before", t.ruleRateBefore());
                metrics.put("rule_rate_after", t.ruleRateAfter());
            }
            t.checksBefore().forEach((name, before) -> {
                metrics.put(name + "_rate_before", before);
                metrics.put(name + "_rate_after", t.checksAfter().get(name));
            });
            metrics.put("reference_frozen", t.referenceFrozen());
            metrics.put("seconds", t.seconds());
            metrics.put("stopped_early", t.stoppedEarly());
            metrics.put("kept_iteration", t.keptIteration());
            metrics.put("policy_below_sft", t.policyBelowSft());
            return new StageOutcome(Map.of("policy", t.policyDir(), "metrics", t.metrics(), "reward_chart",
                    t.rewardChart(), "kl_chart", t.klChart()), metrics);
        });
        return Output.builder().policy(r.path("policy")).sha256(r.sha256("policy"))
                .rewardChart(r.path("reward_chart")).klChart(r.path("kl_chart"))
                .rewardGain((Double) r.metric("reward_gain")).kl((Double) r.metric("kl"))
                .rewardBefore((Double) r.metric("reward_before")).rewardAfter((Double) r.metric("reward_after"))
                .ruleRateBefore((Double) r.metric("rule_rate_before")).ruleRateAfter((Double) r.metric("rule_rate_after"))
                .referenceFrozen(Boolean.TRUE.equals(r.metric("reference_frozen")))
                .stoppedEarly(Boolean.TRUE.equals(r.metric("stopped_early"))).algorithm((String) r.metric("algorithm"))
                .keptIteration(r.metric("kept_iteration") instanceof Number kept ? kept.intValue() : null)
                .policyBelowSft((Boolean) r.metric("policy_below_sft"))
                .seconds((Double) r.metric("seconds")).reused(r.reused()).build();
    }

    /** The library's defaults with the rendered inputs, as {@code seed rlhf} builds them from its flags. */
    private static PpoSettings settings(Path policy, Path reward, Path prompts, Path out, int iterations, Path heldOut,
            Path ptx, double coef, PpoSettings.Algorithm algorithm, int samplesPerPrompt) {
        PpoSettings s = PpoSettings.defaults(policy, reward, prompts, out).withAlgorithm(algorithm)
                .withIterations(iterations).withHeldOutFile(heldOut);
        if (samplesPerPrompt > 0) {
            s = s.withRollout(r -> r.withBatch(r.promptsPerIteration(), samplesPerPrompt));
        }
        return ptx == null ? s : s.withPtx(ptx, coef);
    }

    /** The final policy, its hash, and what RL changed. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "Final policy folder")
        private final String policy;
        @Schema(title = "SHA-256 of the policy folder")
        private final String sha256;
        @Schema(title = "Held-out reward chart (SVG)")
        private final String rewardChart;
        @Schema(title = "KL chart (SVG)")
        private final String klChart;
        @Schema(title = "Held-out reward after minus before")
        private final Double rewardGain;
        @Schema(title = "KL to the reference per response (nats)")
        private final Double kl;
        @Schema(title = "Held-out reward of the SFT policy")
        private final Double rewardBefore;
        @Schema(title = "Held-out reward of the final policy")
        private final Double rewardAfter;
        @Schema(title = "Independent rule rate of the SFT policy")
        private final Double ruleRateBefore;
        @Schema(title = "Independent rule rate of the final policy")
        private final Double ruleRateAfter;
        @Schema(title = "The reference model's weights did not change")
        private final boolean referenceFrozen;
        @Schema(title = "The RL method that ran (ppo, rloo or grpo)")
        private final String algorithm;
        @Schema(title = "A guard rail stopped the run early")
        private final boolean stoppedEarly;
        @Schema(title = "The iteration whose policy the stage ended with (0 = the SFT model, kept because no trained "
                + "policy beat it on the selection half of the held-out prompts)")
        private final Integer keptIteration;
        @Schema(title = "The policy's first check is below the SFT model's on the report half of the held-out prompts")
        private final Boolean policyBelowSft;
        @Schema(title = "Wall time of the stage's training, seconds (of the run that made it, when reused)")
        private final Double seconds;
        @Schema(title = "True when an earlier identical run was reused")
        private final boolean reused;
    }
}
