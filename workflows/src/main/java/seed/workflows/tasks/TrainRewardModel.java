package seed.workflows.tasks;

import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.reward.RewardModel;
import seed.reward.RewardModelTrainer;
import seed.reward.RewardResult;
import seed.reward.RewardSettings;

/** Trains the reward model (SFT backbone + scalar head) on a preference snapshot's K-wise rankings. */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Train a reward model on a preference snapshot.")
@Plugin(examples = @Example(title = "Reward model from the latest snapshot", full = true, code = """
        id: reward
        namespace: seed
        tasks:
          - id: reward
            type: seed.workflows.tasks.TrainRewardModel
            base: "{{ outputs.sft.checkpoint }}"
            rankings: "{{ outputs.snapshot.snapshot }}"
            steps: 200
        """))
public class TrainRewardModel extends AdaptedTrainingTask<TrainRewardModel.Output> {

    @Schema(title = "SFT checkpoint the backbone starts from")
    @NotNull
    private Property<String> base;

    @Schema(title = "Rankings JSONL (a snapshot)")
    @NotNull
    private Property<String> rankings;

    @Schema(title = "Optimizer steps")
    @Builder.Default
    private Property<Integer> steps = Property.ofValue(200);

    @Schema(title = "Peak learning rate (the schedule decays to a tenth of it; seed.sweep tunes it)")
    @Builder.Default
    private Property<Double> learningRate = Property.ofValue(1e-3);

    @Schema(title = "Seed of the split, batch order and head initialisation")
    @Builder.Default
    private Property<Long> randomSeed = Property.ofValue(1L);

    @Schema(title = "Held-out evaluation every this many steps (and at the end)")
    @Builder.Default
    private Property<Integer> evalEvery = Property.ofValue(100);

    @Schema(title = "Early stopping: stop after this many evaluations without a lower held-out loss and keep the best "
            + "model (0 = off: train every step, keep the last)")
    @Builder.Default
    private Property<Integer> patience = Property.ofValue(0);

    @Schema(title = "Responses that do not fit after the prompt: 'right' cuts their end, 'drop' skips the ranking, "
            + "'error' stops the stage naming the line (all K responses of a ranking are cut by the same rule)",
            description = "right | drop | error")
    @NotNull
    @Builder.Default
    private Property<Choices.ResponseTruncation> truncateResponse = Property.ofValue(Choices.ResponseTruncation.ERROR);

    @Schema(title = "What the scalar head reads: 'end' (the end token's hidden state, InstructGPT's) or 'end-logprob' "
            + "(that and the backbone's own log-probability of the response's tokens: learns rankers who check facts)",
            description = "end | end-logprob")
    @NotNull
    @Builder.Default
    private Property<Choices.Readout> readout = Property.ofValue(Choices.Readout.END);

    @Schema(title = "Preference strengths in the loss: LLAMA2 (Llama 2's margin loss, margins 1, 2/3, 1/3, 0 for "
            + "significantly / better / slightly / negligibly better; rankings without strengths train as with NONE) or "
            + "NONE (strengths ignored)")
    @NotNull
    @Builder.Default
    private Property<RewardSettings.Margin> margin = Property.ofValue(RewardSettings.Margin.LLAMA2);

    /** Trains: one training stage at a time per process ({@link TrainingGate}). */
    @Override
    protected boolean recordsGradients() {
        return true;
    }

    @Override
    protected Output execute(RunContext rc) throws Exception {
        Path baseDir = existing(rc, base, "base");
        Path rankingFile = existing(rc, rankings, "rankings");
        RewardSettings chained = RewardSettings.defaults(baseDir, rankingFile, Path.of("out"))
                .withSteps(required(rc, steps, "steps", Integer.class))
                .withSeed(required(rc, randomSeed, "randomSeed", Long.class))
                .withEarlyStopping(required(rc, evalEvery, "evalEvery", Integer.class),
                        required(rc, patience, "patience", Integer.class))
                .withTruncation(truncation(rc, Choices.spelling(required(rc, truncateResponse, "truncateResponse",
                        Choices.ResponseTruncation.class))))
                .withReadout(RewardModel.Readout.parse(Choices.spelling(required(rc, readout, "readout",
                        Choices.Readout.class))))
                .withLora(lora(rc))
                .withMargin(required(rc, margin, "margin", RewardSettings.Margin.class));
        float peak = required(rc, learningRate, "learningRate", Double.class).floatValue();
        if (!(peak > 0)) {
            throw new IllegalArgumentException("input 'learningRate' must be positive, got " + peak);
        }
        // the default rate keeps the settings (and the store address) every earlier run had
        RewardSettings shape = peak == chained.learningRate() ? chained : chained.withLearningRate(peak, peak / 10);
        // every setting that shapes the model, truncation and early stopping included, addresses the store folder
        Map<String, Object> settings = Settings.of(shape, "base", "rankings", "out");
        Result r = stage(rc, "reward", settings, Map.of("base", baseDir, "rankings", rankingFile), (dir, console) -> {
            RewardResult t = RewardModelTrainer.train(shape.withOut(dir), console, 0);
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("val_accuracy", t.valAccuracy());
            metrics.put("val_loss", t.valLoss());
            metrics.put("train_accuracy", t.trainAccuracy());
            metrics.put("held_out_pairs", t.heldOutPairs());
            metrics.put("train_pairs", t.trainPairs());
            metrics.put("steps", t.steps());
            return new StageOutcome(Map.of("model", t.modelDir(), "metrics", t.metrics(), "chart", t.chart()), metrics);
        });
        return Output.builder().model(r.path("model")).sha256(r.sha256("model")).chart(r.path("chart"))
                .valAccuracy((Double) r.metric("val_accuracy")).valLoss((Double) r.metric("val_loss")).heldOutPairs(((Number) r.metric("held_out_pairs"))
                        .intValue()).reused(r.reused()).build();
    }

    /** The reward model and its held-out accuracy. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "Reward model folder (seed rlhf --reward takes it)")
        private final String model;
        @Schema(title = "SHA-256 of the model folder")
        private final String sha256;
        @Schema(title = "Accuracy chart (SVG)")
        private final String chart;
        @Schema(title = "Held-out pairwise accuracy")
        private final Double valAccuracy;
        @Schema(title = "Held-out ranking loss (what early stopping watches)")
        private final Double valLoss;
        @Schema(title = "Held-out pairs")
        private final int heldOutPairs;
        @Schema(title = "True when an earlier identical run was reused")
        private final boolean reused;
    }
}
