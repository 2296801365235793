package seed.workflows.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.models.tasks.RunnableTask;
import io.kestra.core.models.tasks.Task;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.workflows.sweep.SearchSpace;
import seed.workflows.sweep.SweepRungs;
import seed.workflows.sweep.SweepStage;

/**
 * One rung of {@code seed.sweep}: records the trial runs the previous rung's subflows produced, decides (successive
 * halving) which trials run next and to which step, and redraws the sweep's report. The flow fans the returned waves
 * out as subflow runs of the stage's flow.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Decide a rung of a successive-halving sweep (seed.sweep).",
        description = "Rung 0 plans every setting of the search space; each later rung reads the previous rung's trial "
                + "results from the execution's outputs, keeps the best 1/reduction, and returns them to continue from "
                + "their checkpoints. Writes trials.csv, best.txt and report.html with charts in the sweep folder.")
@Plugin(examples = @Example(title = "The first rung of a learning-rate sweep", full = true, code = """
        id: sweep
        namespace: seed
        tasks:
          - id: rung_0
            type: seed.workflows.tasks.SweepRung
            stage: pretrain
            space: '{"params": {"learning_rate": {"log_uniform": [1e-4, 1e-2], "points": 9}}}'
            base: '{"corpus": "/data/corpus.txt"}'
            budget: 270
            rung: 0
        """))
public class SweepRung extends Task implements RunnableTask<SweepRung.Output> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Schema(title = "The stage to tune (its flow runs each trial; reward and dpo cannot resume, so no halving)")
    @NotNull
    private Property<SweepStage> stage;

    @Schema(title = "Search space (JSON): {\"method\": \"grid\"|\"random\", \"samples\": N, \"params\": {name: [choices] "
            + "| {\"choices\": [...]} | {\"uniform\": [lo, hi]} | {\"log_uniform\": [lo, hi]}}}")
    @NotNull
    private Property<String> space;

    @Schema(title = "Fixed inputs of the stage's flow for every trial (JSON object, e.g. the corpus)")
    @Builder.Default
    private Property<String> base = Property.ofValue("{}");

    @Schema(title = "Budget: optimizer steps of a full trial (the last rung; the learning-rate schedule spans them)")
    @NotNull
    private Property<Integer> budget;

    @Schema(title = "Steps of the first rung (0 = max(the stage's warm-up, budget / reduction^(rungs-1)); reward "
            + "and dpo accept only 0 or the budget)")
    @Builder.Default
    private Property<Integer> minSteps = Property.ofValue(0);

    @Schema(title = "Reduction factor: each rung keeps the best 1/reduction")
    @Builder.Default
    private Property<Integer> reduction = Property.ofValue(3);

    @Schema(title = "The stage flow's output compared (empty = the stage's: val_loss, val_accuracy for reward, "
            + "val_rewards_accuracy for dpo)")
    @Builder.Default
    private Property<String> metric = Property.ofValue("");

    @Schema(title = "Which way the metric is better (auto: losses are minimized, accuracies maximized, others refused)")
    @NotNull
    @Builder.Default
    private Property<SweepStage.Goal> goal = Property.ofValue(SweepStage.Goal.auto);

    @Schema(title = "Trials in flight at once (the rung's trials are returned in waves of this size)")
    @Builder.Default
    private Property<Integer> concurrency = Property.ofValue(1);

    @Schema(title = "Rungs the flow has room for (its unrolled rung blocks); a plan needing more is refused at rung 0")
    @Builder.Default
    private Property<Integer> maxRungs = Property.ofValue(5);

    @Schema(title = "This rung's index (0 plans the sweep)")
    @NotNull
    private Property<Integer> rung;

    @Schema(title = "The execution's outputs so far as JSON (where the previous rung's subflow results are)")
    @Builder.Default
    private Property<String> results = Property.ofValue("{}");

    @Schema(title = "The sweep's folder (state, trials.csv, report)")
    @Builder.Default
    private Property<String> folder = Property.ofExpression("{{ globals.store }}/sweeps/{{ execution.id }}");

    @Override
    public Output run(RunContext rc) throws Exception {
        SweepStage tuned = rc.render(stage).as(SweepStage.class).orElseThrow(
                () -> new IllegalArgumentException("input 'stage' is required"));
        String compared = rc.render(metric).as(String.class).filter(m -> !m.isBlank()).orElse(tuned.metric());
        SweepRungs.Request request = new SweepRungs.Request(tuned.name(),
                SearchSpace.parse(rc.render(space).as(String.class).orElseThrow(
                        () -> new IllegalArgumentException("input 'space' is required"))),
                JSON.readTree(rc.render(base).as(String.class).orElse("{}")),
                rc.render(budget).as(Integer.class).orElseThrow(() -> new IllegalArgumentException("input 'budget' is required")),
                rc.render(minSteps).as(Integer.class).orElse(0), rc.render(reduction).as(Integer.class).orElse(3),
                compared, SweepStage.maximize(compared, rc.render(goal).as(SweepStage.Goal.class)
                        .orElse(SweepStage.Goal.auto)),
                rc.render(concurrency).as(Integer.class).orElse(1), rc.render(maxRungs).as(Integer.class).orElse(5));
        int k = rc.render(rung).as(Integer.class).orElseThrow(() -> new IllegalArgumentException("input 'rung' is required"));
        JsonNode outputs = JSON.readTree(rc.render(results).as(String.class).orElse("{}"));
        Path dir = Path.of(rc.render(folder).as(String.class).orElseThrow());
        SweepRungs.Decision d = SweepRungs.decide(request, k, outputs, dir);
        rc.logger().info("sweep rung {}: {} trial run(s) to step {}; report {}", k, d.trials(), d.stopAt(), d.report());
        return Output.builder().rung(k).done(d.trials() == 0).trials(d.trials()).waves(d.waves())
                .best(d.best()).bestInputs(d.bestInputs()).sweepSteps(d.sweepSteps()).gridSteps(d.gridSteps()).report(d.report().toString())
                .trialsCsv(d.csv().toString()).build();
    }

    /** What the flow reads: {@code {{ outputs.rung_0.waves }}} feeds the trial fan-out. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "This rung's index")
        private final int rung;
        @Schema(title = "True when no trial runs in this rung (the sweep is over)")
        private final boolean done;
        @Schema(title = "Trial runs of this rung")
        private final int trials;
        @Schema(title = "The trial runs in waves of at most `concurrency`: each a list of {trial, rung, inputs}")
        private final List<List<Map<String, Object>>> waves;
        @Schema(title = "The best setting so far (and its metric, trial and checkpoint)")
        private final Map<String, Object> best;
        @Schema(title = "The stage flow's complete inputs for the best trial trained to the budget",
                description = "Exactly the best trial's last run when it reached the budget (a store hit: nothing is "
                        + "recomputed), else a continuation of its checkpoint; seed.three-stage's sweep passes them on.")
        private final Map<String, Object> bestInputs;
        @Schema(title = "Optimizer steps the sweep computed so far")
        private final long sweepSteps;
        @Schema(title = "Optimizer steps a full grid of the space would compute")
        private final long gridSteps;
        @Schema(title = "report.html of the sweep")
        private final String report;
        @Schema(title = "trials.csv of the sweep (params,tokens,loss for seed plan --fit)")
        private final String trialsCsv;
    }
}
