package seed.workflows.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.stages.generate.Candidates;
import seed.stages.generate.SamplingSettings;
import seed.stages.checks.Check;
import seed.stages.demo.PoliteCorrectRule;
import seed.workflows.report.RunReport;

/**
 * The independent check and the run's report: greedy answers of the SFT model and of the final policy on held-out
 * prompts, judged by a program (format adherence, and the demo task's polite-and-correct rule), not by the reward
 * model; then the per-stage table and the HTML report with every chart.
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
            reportDir: /runs/report
        """))
public class Evaluate extends SeedTask<Evaluate.Output> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Schema(title = "SFT checkpoint")
    private Property<String> sft;

    @Schema(title = "Final policy")
    private Property<String> policy;

    @Schema(title = "Held-out prompts (JSONL)")
    private Property<String> heldOutPrompts;

    @Schema(title = "Folder the report is written to")
    private Property<String> reportDir;

    @Schema(title = "Per-stage numbers for the table, e.g. {pretrain: {val_loss_first: .., val_loss: ..}}")
    private Property<Map<String, Object>> stages;

    @Schema(title = "Charts (SVG files) to show in the report")
    private Property<List<String>> charts;

    @Schema(title = "Tokens per greedy answer at most")
    @Builder.Default
    private Property<Integer> maxNewTokens = Property.ofValue(48);

    @Schema(title = "Checks the greedy answers are judged by, each [name:]kind[=argument] as `seed rlhf --check`",
            description = "Reported as greedy_<name>_rate_sft / _policy. The demo rule (polite-correct) also reports "
                    + "format_rate (its answer shapes) and greedy_rule_rate. Empty: no checks. The default stays the "
                    + "demo's rule until the flows pass their checks.")
    @Builder.Default
    private Property<List<String>> checks = Property.ofValue(List.of("polite-correct"));

    @Override
    @SuppressWarnings("unchecked")
    protected Output execute(RunContext rc) throws Exception {
        Path sftDir = existing(rc, sft, "sft");
        Path policyDir = existing(rc, policy, "policy");
        Path prompts = existing(rc, heldOutPrompts, "heldOutPrompts");
        Path out = Files.createDirectories(Path.of(required(rc, reportDir, "reportDir")));
        int tokens = required(rc, maxNewTokens, "maxNewTokens", Integer.class);
        Map<String, Object> stageNumbers = stages == null ? Map.of()
                : (Map<String, Object>) rc.render(stages).asMap(String.class, Object.class);
        List<String> chartFiles = charts == null ? List.of() : (List<String>) rc.render(charts).asList(String.class);
        List<String> checkSpecs = checks == null ? List.of() : (List<String>) rc.render(checks).asList(String.class);
        List<Check> judges = Check.parseAll(checkSpecs);
        boolean demoRule = judges.stream().anyMatch(c -> c instanceof Check.PoliteCorrect);

        SamplingSettings greedy = new SamplingSettings(0f, 0, 1f, tokens, List.of(), 1, true);
        Map<String, Object> settings = Settings.of(greedy);
        settings.put("checks", checkSpecs);
        Result r = stage(rc, "evaluate", settings, Map.of("sft", sftDir, "policy", policyDir, "prompts",
                prompts), (dir, console) -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    judge("sft", Candidates.generate(sftDir, prompts, 2, greedy, dir.resolve("sft.jsonl"), console)
                            .file(), judges, m);
                    judge("policy", Candidates.generate(policyDir, prompts, 2, greedy, dir.resolve("policy.jsonl"),
                            console).file(), judges, m);
                    return new StageOutcome(Map.of("sft_answers", dir.resolve("sft.jsonl"), "policy_answers",
                            dir.resolve("policy.jsonl")), m);
                });
        Map<String, Object> evaluation = new LinkedHashMap<>();
        Double ruleSft = null, rulePolicy = null, formatSft = null, formatPolicy = null;
        if (demoRule) { // the demo's answer shapes and rule, as before checks were configurable
            ruleSft = ((Number) r.metric("sft_rule_rate")).doubleValue();
            rulePolicy = ((Number) r.metric("policy_rule_rate")).doubleValue();
            formatSft = ((Number) r.metric("sft_format_rate")).doubleValue();
            formatPolicy = ((Number) r.metric("policy_format_rate")).doubleValue();
            evaluation.put("format_rate_sft", formatSft);
            evaluation.put("format_rate_policy", formatPolicy);
        }
        for (Check c : judges) {
            evaluation.put("greedy_" + c.name() + "_rate_sft", r.metric("sft_check_" + c.name()));
            evaluation.put("greedy_" + c.name() + "_rate_policy", r.metric("policy_check_" + c.name()));
        }
        evaluation.put("answers", ((Number) r.metric("answers")).intValue());
        Map<String, Object> all = new LinkedHashMap<>(stageNumbers);
        all.put("evaluate", evaluation);
        String table = RunReport.table(all);
        Path index = RunReport.write(out, executionId(rc), all, chartFiles);
        rc.logger().info("report: {}", index);
        return Output.builder().report(index.toString()).table(table).formatRateSft(formatSft)
                .formatRatePolicy(formatPolicy).ruleRateSft(ruleSft).ruleRatePolicy(rulePolicy).build();
    }

    /** Judges the first (greedy) answer per prompt by every check (and the demo's answer shapes). */
    private static void judge(String who, Path answers, List<Check> judges, Map<String, Object> metrics)
            throws Exception {
        int n = 0;
        int wellFormed = 0;
        int politeCorrect = 0;
        int[] passed = new int[judges.size()];
        List<String> lines = new ArrayList<>(Files.readAllLines(answers));
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode j = JSON.readTree(line);
            String prompt = j.get("prompt").asText();
            String answer = j.get("responses").get(0).asText();
            PoliteCorrectRule.Category c = PoliteCorrectRule.classify(prompt, answer);
            for (int i = 0; i < judges.size(); i++) {
                passed[i] += judges.get(i).passes(prompt, answer) ? 1 : 0;
            }
            n++;
            wellFormed += c == PoliteCorrectRule.Category.MALFORMED ? 0 : 1;
            politeCorrect += c == PoliteCorrectRule.Category.POLITE_CORRECT ? 1 : 0;
        }
        metrics.put("answers", n);
        metrics.put(who + "_format_rate", n == 0 ? 0.0 : (double) wellFormed / n);
        metrics.put(who + "_rule_rate", n == 0 ? 0.0 : (double) politeCorrect / n);
        for (int i = 0; i < judges.size(); i++) {
            metrics.put(who + "_check_" + judges.get(i).name(), n == 0 ? 0.0 : (double) passed[i] / n);
        }
    }

    /** The report and the independent numbers. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "report/index.html")
        private final String report;
        @Schema(title = "The per-stage table as text")
        private final String table;
        @Schema(title = "Share of well-formed greedy SFT answers")
        private final Double formatRateSft;
        @Schema(title = "Share of well-formed greedy policy answers")
        private final Double formatRatePolicy;
        @Schema(title = "Greedy SFT answers that are polite and correct")
        private final Double ruleRateSft;
        @Schema(title = "Greedy policy answers that are polite and correct")
        private final Double ruleRatePolicy;
    }
}
