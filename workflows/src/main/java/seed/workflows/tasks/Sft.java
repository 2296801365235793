package seed.workflows.tasks;

import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.util.Map;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.stages.data.Truncation;
import seed.stages.sft.SftRequest;
import seed.stages.train.TrainResult;
import seed.stages.train.TrainSettings;

/** Stage 2 as a Kestra task: supervised instruction tuning (loss on response tokens only). */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Supervised fine-tuning on prompt/response pairs (stage 2).",
        description = "Starts from a pretrained checkpoint; reuses a completed identical run, resumes an interrupted one.")
@Plugin(examples = @Example(title = "Tune a base checkpoint", full = true, code = """
        id: sft
        namespace: seed
        tasks:
          - id: sft
            type: seed.workflows.tasks.Sft
            base: "{{ outputs.pretrain.checkpoint }}"
            data: /data/sft.jsonl
            steps: 400
        """))
public class Sft extends AdaptedTrainingTask<Sft.Output> {

    /** Linear warm-up steps of SFT's learning-rate schedule (seed.sweep's first rung never ends inside it). */
    public static final int WARMUP_STEPS = 20;

    @Schema(title = "Pretrained checkpoint (folder)")
    @NotNull
    private Property<String> base;

    @Schema(title = "JSONL of {\"prompt\", \"response\"}")
    @NotNull
    private Property<String> data;

    @Schema(title = "Optimizer steps")
    @Builder.Default
    private Property<Integer> steps = Property.ofValue(400);

    @Schema(title = "Pairs per batch")
    @Builder.Default
    private Property<Integer> batch = Property.ofValue(16);

    @Schema(title = "Peak learning rate")
    @Builder.Default
    private Property<Double> learningRate = Property.ofValue(2e-3);

    @Schema(title = "A response that does not fit after the prompt: 'right' cuts its end (it then has no end token), "
            + "'drop' skips the example, 'error' stops the stage naming the line")
    @NotNull
    @Builder.Default
    private Property<Choices.ResponseTruncation> truncateResponse = Property.ofValue(Choices.ResponseTruncation.ERROR);

    @Schema(title = "Stop after this step with a resumable checkpoint (0 = run all steps)",
            description = "The learning-rate schedule still spans all steps: seed.sweep's rungs stop here and continue.")
    @Builder.Default
    private Property<Integer> stopAt = Property.ofValue(0);

    @Schema(title = "Continue this stopped run's checkpoint (same settings) instead of starting over; empty = none")
    @Builder.Default
    private Property<String> resumeFrom = Property.ofValue("");

    @Schema(title = "Seed of batch sampling")
    @Builder.Default
    private Property<Long> randomSeed = Property.ofValue(1338L);

    /** Prompts that do not fit lose their beginning unless told otherwise: what this task always did. */
    @Override
    protected String defaultTruncatePrompt() {
        return "left";
    }

    /** Trains: one training stage at a time per process ({@link TrainingGate}). */
    @Override
    protected boolean recordsGradients() {
        return true;
    }

    @Override
    protected Output execute(RunContext rc) throws Exception {
        Path baseDir = existing(rc, base, "base");
        Path dataFile = existing(rc, data, "data");
        TrainSettings train = new TrainSettings(required(rc, steps, "steps", Integer.class),
                required(rc, batch, "batch", Integer.class), required(rc, learningRate, "learningRate", Double.class)
                .floatValue(), 2e-4f, WARMUP_STEPS, 0.0f, 1.0f, 100, 100, 2, required(rc, randomSeed, "randomSeed", Long.class), 2000);
        Truncation truncation = truncation(rc, Choices.spelling(required(rc, truncateResponse, "truncateResponse",
                Choices.ResponseTruncation.class)));
        Map<String, Object> settings = Settings.of(train);
        settings.put("truncation", describe(truncation));
        seed.stages.model.LoraSettings adapters = lora(rc);
        if (adapters != null) {
            settings.put("lora", adapters); // the store address differs from a full fine-tune's
        }
        Map<String, Path> inputs = new java.util.LinkedHashMap<>(Map.of("base", baseDir, "data", dataFile));
        PartialRun part = PartialRun.of(optional(rc, stopAt, Integer.class, 0),
                optional(rc, resumeFrom, String.class, ""), train.steps());
        part.address(settings, inputs);
        Result r = stage(rc, "sft", settings, inputs, (dir, console) -> {
            TrainResult t = seed.stages.sft.Sft.run(new SftRequest(baseDir, dataFile, dir, train, truncation,
                    part.resumeIn(dir), part.stopAt(), adapters),
                    console);
            return new StageOutcome(Map.of("checkpoint", t.checkpoint(), "metrics", t.metrics(), "chart",
                    t.lossChart()), Settings.trainMetrics(t));
        });
        return Output.builder().checkpoint(r.path("checkpoint")).sha256(r.sha256("checkpoint"))
                .chart(r.path("chart")).reused(r.reused()).valLoss((Double) r.metric("val_loss"))
                .firstValLoss((Double) r.metric("first_val_loss")).build();
    }

    /** The tuned checkpoint, its hash and held-out loss. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "The SFT checkpoint folder")
        private final String checkpoint;
        @Schema(title = "SHA-256 of the checkpoint folder")
        private final String sha256;
        @Schema(title = "Loss chart (SVG)")
        private final String chart;
        @Schema(title = "Held-out response loss at the end")
        private final Double valLoss;
        @Schema(title = "Held-out response loss at the first evaluation")
        private final Double firstValLoss;
        @Schema(title = "True when an earlier identical run was reused")
        private final boolean reused;
    }
}
