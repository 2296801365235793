package seed.workflows.tasks;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import jakarta.validation.constraints.NotNull;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.reward.dpo.DpoLoss;
import seed.reward.dpo.DpoResult;
import seed.reward.dpo.DpoSettings;
import seed.reward.dpo.DpoTrainer;

/**
 * Stage 3 without RL as a Kestra task: DPO of the SFT policy straight from a preference snapshot (no reward model, no
 * rollouts), {@code seed dpo}'s library call with its settings addressing the store folder.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "DPO: preference optimisation of the SFT policy on a snapshot's rankings (stage 3 without RL).")
@Plugin(examples = @Example(title = "DPO from the latest snapshot", full = true, code = """
        id: dpo
        namespace: seed
        tasks:
          - id: dpo
            type: seed.workflows.tasks.Dpo
            policy: "{{ outputs.sft.checkpoint }}"
            rankings: "{{ outputs.snapshot.snapshot }}"
            loss: sigmoid
            beta: 0.1
        """))
public class Dpo extends TruncatingTask<Dpo.Output> {

    @Schema(title = "SFT checkpoint: the starting policy and the frozen reference")
    @NotNull
    private Property<String> policy;

    @Schema(title = "Rankings JSONL (a snapshot)")
    @NotNull
    private Property<String> rankings;

    @Schema(title = "Loss: sigmoid, ipo or hinge (TRL's meanings), or plackett-luce over whole rankings")
    @Builder.Default
    @NotNull
    private Property<Loss> loss = Property.ofValue(Loss.SIGMOID);

    @Schema(title = "Implicit reward scale beta")
    @Builder.Default
    private Property<Double> beta = Property.ofValue(0.1);

    @Schema(title = "Conservative DPO label smoothing (sigmoid only)")
    @Builder.Default
    private Property<Double> labelSmoothing = Property.ofValue(0.0);

    @Schema(title = "Optimizer steps")
    @Builder.Default
    private Property<Integer> steps = Property.ofValue(200);

    @Schema(title = "Peak learning rate")
    @Builder.Default
    private Property<Double> learningRate = Property.ofValue(1e-4);

    @Schema(title = "Seed of the split (as the reward model's), batch order and KL samples")
    @Builder.Default
    private Property<Long> randomSeed = Property.ofValue(1L);

    @Schema(title = "Responses that do not fit after the prompt: 'right' cuts their end, 'drop' skips the ranking, "
            + "'error' stops the stage naming the line", allowableValues = {"right", "drop", "error"})
    @Builder.Default
    private Property<String> truncateResponse = Property.ofValue("error");

    /** Trains: one training stage at a time per process ({@link TrainingGate}). */
    @Override
    protected boolean recordsGradients() {
        return true;
    }

    @Override
    protected Output execute(RunContext rc) throws Exception {
        Path policyDir = existing(rc, policy, "policy");
        Path rankingFile = existing(rc, rankings, "rankings");
        DpoSettings d = DpoSettings.defaults(policyDir, rankingFile, Path.of("out"));
        DpoSettings shape = d.withLoss(DpoLoss.parse(required(rc, loss, "loss", Loss.class).name()), required(rc, beta, "beta", Double.class),
                        required(rc, labelSmoothing, "labelSmoothing", Double.class))
                .withSchedule(required(rc, steps, "steps", Integer.class), d.groupsPerBatch(),
                        required(rc, learningRate, "learningRate", Double.class).floatValue(), d.warmupSteps())
                .withRun(d.evalEvery(), d.checkpointEvery(), required(rc, randomSeed, "randomSeed", Long.class),
                        d.logEveryMs())
                .withTruncation(truncation(rc, required(rc, truncateResponse, "truncateResponse")));
        Map<String, Object> settings = Settings.of(shape, "policy", "rankings", "out");
        Result r = stage(rc, "dpo", settings, Map.of("policy", policyDir, "rankings", rankingFile), (dir, console) -> {
            DpoResult t = DpoTrainer.train(shape.withOut(dir), console, 0);
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("algorithm", "dpo");
            metrics.put("loss", shape.loss().spelling());
            metrics.put("val_rewards_accuracy", t.valRewardsAccuracy());
            metrics.put("val_rewards_margin", t.valRewardsMargin());
            metrics.put("kl", t.kl());
            metrics.put("train_pairs", t.trainPairs());
            metrics.put("held_out_pairs", t.heldOutPairs());
            metrics.put("reference_frozen", t.referenceFrozen());
            metrics.put("seconds", t.seconds());
            return new StageOutcome(Map.of("policy", t.policyDir(), "metrics", t.metrics(), "rewards_chart",
                    t.rewardsChart(), "accuracy_chart", t.accuracyChart()), metrics);
        });
        return Output.builder().policy(r.path("policy")).sha256(r.sha256("policy"))
                .rewardsChart(r.path("rewards_chart")).accuracyChart(r.path("accuracy_chart"))
                .valRewardsAccuracy((Double) r.metric("val_rewards_accuracy")).kl((Double) r.metric("kl"))
                .referenceFrozen(Boolean.TRUE.equals(r.metric("reference_frozen")))
                .seconds((Double) r.metric("seconds")).reused(r.reused()).build();
    }

    /** DPO's losses, as flows spell them ({@code sigmoid}, {@code ipo}, {@code hinge}, {@code plackett-luce}). */
    public enum Loss {
        SIGMOID, IPO, HINGE, PLACKETT_LUCE;

        /** Accepts the flows' lower-case spelling. */
        @JsonCreator
        public static Loss of(String value) {
            return valueOf(DpoLoss.parse(value).name());
        }

        @JsonValue
        public String spelling() {
            return DpoLoss.valueOf(name()).spelling();
        }
    }

    /** The final policy, its hash, and the held-out implicit-reward accuracy and KL. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "Final policy folder")
        private final String policy;
        @Schema(title = "SHA-256 of the policy folder")
        private final String sha256;
        @Schema(title = "Implicit rewards chart (SVG)")
        private final String rewardsChart;
        @Schema(title = "Implicit-reward accuracy chart (SVG)")
        private final String accuracyChart;
        @Schema(title = "Held-out implicit-reward pairwise accuracy")
        private final Double valRewardsAccuracy;
        @Schema(title = "KL to the reference per response (nats)")
        private final Double kl;
        @Schema(title = "The reference's log-probabilities did not change")
        private final boolean referenceFrozen;
        @Schema(title = "Wall time of the stage's training, seconds (of the run that made it, when reused)")
        private final Double seconds;
        @Schema(title = "True when an earlier identical run was reused")
        private final boolean reused;
    }
}
