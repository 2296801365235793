package seed.workflows.tasks;

import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jakarta.validation.constraints.NotNull;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.reward.eval.HeldOutJudge;
import seed.stages.checks.Check;
import seed.workflows.report.RunReport;

/**
 * The independent check and the run's report: greedy answers of the SFT model and of the final policy on held-out
 * prompts, judged by the configured program checks and safety check, by the reward model as a judge (mean reward, the
 * policy's win rate over SFT with a 95% interval) and the policy's KL to SFT ({@link HeldOutJudge}); then the per-stage
 * table and the HTML report with every chart. The outputs are what promotion gates read.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Evaluate SFT and policy on held-out prompts and write the run's report.")
@Plugin(examples = @Example(title = "Report of a three-stage run", full = true, code = """
        id: evaluate
        namespace: seed
        tasks:
          - id: evaluate
            type: seed.workflows.tasks.Evaluate
            sft: /store/runs/sft-.../checkpoints/step-0000400
            policy: /store/runs/rlhf-.../policy
            heldOutPrompts: /data/heldout.jsonl
            reward: /store/runs/reward-.../model
            checks: ["format:regex=^Sure"]
            unsafeCheck: "no-keywords=idiot,stupid"
            reportDir: /runs/report
        """))
public class Evaluate extends SeedTask<Evaluate.Output> {

    @Schema(title = "SFT checkpoint")
    @NotNull
    private Property<String> sft;

    @Schema(title = "Final policy")
    @NotNull
    private Property<String> policy;

    @Schema(title = "Held-out prompts (JSONL)")
    @NotNull
    private Property<String> heldOutPrompts;

    @Schema(title = "Folder the report is written to")
    @NotNull
    private Property<String> reportDir;

    @Schema(title = "Reward model folder, the judge of reward and win rate; empty: no reward, win rate")
    private Property<String> reward;

    @Schema(title = "Per-stage numbers for the table, e.g. {pretrain: {val_loss_first: .., val_loss: ..}}")
    private Property<Map<String, Object>> stages;

    @Schema(title = "Charts (SVG files) to show in the report")
    private Property<List<String>> charts;

    @Schema(title = "Tokens per greedy answer at most")
    @Builder.Default
    private Property<Integer> maxNewTokens = Property.ofValue(48);

    @Schema(title = "Checks the greedy answers are judged by, each [name:]kind[=argument] as `seed rlhf --check`",
            description = "Reported as greedy_<name>_rate_sft / _policy and in checkRatesSft / checkRatesPolicy. The "
                    + "demo rule (polite-correct) also reports format_rate (its answer shapes) and ruleRate*. Empty "
                    + "(the default): no checks.")
    @Builder.Default
    private Property<List<String>> checks = Property.ofValue(List.of());

    @Schema(title = "A check an unsafe answer fails, [name:]kind[=argument], e.g. no-keywords=idiot,stupid",
            description = "Reported as unsafe_rate_sft / _policy: the share of answers sampled at T = 1 (samples per "
                    + "prompt) that fail it. Empty: none.")
    private Property<String> unsafeCheck;

    @Schema(title = "Answers sampled per prompt (T = 1) for the unsafe rate and the KL")
    @Builder.Default
    @NotNull
    private Property<Integer> samples = Property.ofValue(HeldOutJudge.SAMPLES);

    @Schema(title = "Seeds the KL samples and the win rate's bootstrap")
    @Builder.Default
    private Property<Integer> seed = Property.ofValue(1337);

    @Schema(title = "Bootstrap resamples of the win rate's 95% interval")
    @Builder.Default
    private Property<Integer> winRateResamples = Property.ofValue(1000);

    @Override
    @SuppressWarnings("unchecked")
    protected Output execute(RunContext rc) throws Exception {
        Path sftDir = existing(rc, sft, "sft");
        Path policyDir = existing(rc, policy, "policy");
        Path prompts = existing(rc, heldOutPrompts, "heldOutPrompts");
        Path out = Files.createDirectories(Path.of(required(rc, reportDir, "reportDir")));
        String rewardDir = optional(rc, reward, String.class, "");
        Path judgeDir = rewardDir.isBlank() ? null : existing(rc, reward, "reward");
        Map<String, Object> stageNumbers = stages == null ? Map.of()
                : (Map<String, Object>) rc.render(stages).asMap(String.class, Object.class);
        List<String> chartFiles = charts == null ? List.of() : (List<String>) rc.render(charts).asList(String.class);
        List<String> checkSpecs = checks == null ? List.of() : (List<String>) rc.render(checks).asList(String.class);
        String unsafeSpec = optional(rc, unsafeCheck, String.class, "").strip();
        HeldOutJudge.Settings judge = new HeldOutJudge.Settings(required(rc, maxNewTokens, "maxNewTokens",
                Integer.class), Check.parseAll(checkSpecs), unsafeSpec.isEmpty() ? null : Check.parse(unsafeSpec),
                required(rc, samples, "samples", Integer.class), judgeDir, required(rc, winRateResamples, "winRateResamples", Integer.class),
                required(rc, seed, "seed", Integer.class));

        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("max_new_tokens", judge.maxNewTokens());
        settings.put("checks", checkSpecs);
        settings.put("unsafe_check", unsafeSpec);
        settings.put("samples", judge.samples());
        settings.put("resamples", judge.resamples());
        settings.put("seed", judge.seed());
        Map<String, Path> inputs = new LinkedHashMap<>(Map.of("sft", sftDir, "policy", policyDir, "prompts", prompts));
        if (judgeDir != null) {
            inputs.put("reward", judgeDir);
        }
        Result r = stage(rc, "evaluate", settings, inputs, (dir, console) -> {
            HeldOutJudge.Report report = HeldOutJudge.run(sftDir, policyDir, prompts, judge, dir, console);
            return new StageOutcome(Map.of("sft_answers", dir.resolve("sft.jsonl"), "policy_answers",
                    dir.resolve("policy.jsonl")), report.metrics());
        });
        Map<String, Object> evaluation = new LinkedHashMap<>(r.done().metrics());
        Map<String, Object> all = measured(stageNumbers);
        all.put("evaluate", evaluation);
        String table = RunReport.table(all);
        Path index = RunReport.write(out, executionId(rc), all, chartFiles);
        rc.logger().info("report: {}", index);

        Map<String, Double> ratesSft = new LinkedHashMap<>();
        Map<String, Double> ratesPolicy = new LinkedHashMap<>();
        String rule = null;
        for (Check c : judge.checks()) {
            ratesSft.put(c.name(), number(r, "greedy_" + c.name() + "_rate_sft"));
            ratesPolicy.put(c.name(), number(r, "greedy_" + c.name() + "_rate_policy"));
            rule = rule == null && c instanceof Check.PoliteCorrect ? c.name() : rule;
        }
        return Output.builder().report(index.toString()).table(table)
                .formatRateSft(number(r, "format_rate_sft")).formatRatePolicy(number(r, "format_rate_policy"))
                .ruleRateSft(rule == null ? null : ratesSft.get(rule))
                .ruleRatePolicy(rule == null ? null : ratesPolicy.get(rule))
                .checkRatesSft(ratesSft).checkRatesPolicy(ratesPolicy)
                .unsafeRateSft(number(r, "unsafe_rate_sft")).unsafeRatePolicy(number(r, "unsafe_rate_policy"))
                .rewardSft(number(r, "reward_sft")).rewardPolicy(number(r, "reward_policy"))
                .winRate(number(r, "win_rate")).winRateLow(number(r, "win_rate_low"))
                .winRateHigh(number(r, "win_rate_high")).kl(number(r, "kl")).build();
    }

    /**
     * The stages' numbers without the blank ones: a flow renders the numbers of a stage it skipped (e.g. RL when the
     * alignment is DPO) as empty strings, and the table shows what ran.
     */
    private static Map<String, Object> measured(Map<String, Object> stageNumbers) {
        Map<String, Object> out = new LinkedHashMap<>();
        stageNumbers.forEach((stage, numbers) -> {
            if (numbers instanceof Map<?, ?> m) {
                Map<Object, Object> kept = new LinkedHashMap<>();
                m.forEach((k, v) -> {
                    if (v != null && !v.toString().isBlank()) {
                        kept.put(k, v);
                    }
                });
                if (!kept.isEmpty()) {
                    out.put(stage, kept);
                }
            } else if (numbers != null && !numbers.toString().isBlank()) {
                out.put(stage, numbers);
            }
        });
        return out;
    }

    /** A metric of the (fresh or reused) run, or null when it was not measured. */
    private static Double number(Result r, String name) {
        Object v = r.metric(name);
        return v instanceof Number n ? n.doubleValue() : v == null ? null : Double.valueOf(v.toString());
    }

    /** The report and the independent numbers (null when not measured: no such check, no reward model). */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "report/index.html")
        private final String report;
        @Schema(title = "The per-stage table as text")
        private final String table;
        @Schema(title = "Share of well-formed greedy SFT answers (demo check only)")
        private final Double formatRateSft;
        @Schema(title = "Share of well-formed greedy policy answers (demo check only)")
        private final Double formatRatePolicy;
        @Schema(title = "Greedy SFT answers that are polite and correct (demo check only)")
        private final Double ruleRateSft;
        @Schema(title = "Greedy policy answers that are polite and correct (demo check only)")
        private final Double ruleRatePolicy;
        @Schema(title = "Pass rate of each configured check on greedy SFT answers (check name -> rate)")
        private final Map<String, Double> checkRatesSft;
        @Schema(title = "Pass rate of each configured check on greedy policy answers (check name -> rate)")
        private final Map<String, Double> checkRatesPolicy;
        @Schema(title = "Share of sampled SFT answers failing the unsafe check")
        private final Double unsafeRateSft;
        @Schema(title = "Share of sampled policy answers failing the unsafe check")
        private final Double unsafeRatePolicy;
        @Schema(title = "Policy's win rate over SFT on held-out prompts, judged by the reward model (ties half)")
        private final Double winRate;
        @Schema(title = "Lower end of the win rate's bootstrap 95% interval")
        private final Double winRateLow;
        @Schema(title = "Upper end of the win rate's bootstrap 95% interval")
        private final Double winRateHigh;
        @Schema(title = "Mean reward-model score of the greedy SFT answers")
        private final Double rewardSft;
        @Schema(title = "Mean reward-model score of the greedy policy answers")
        private final Double rewardPolicy;
        @Schema(title = "KL(policy || SFT) per response on held-out prompts (nats, on the T = 1 samples)")
        private final Double kl;
    }
}
