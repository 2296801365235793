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
import seed.stages.model.Architecture;
import seed.stages.model.Family;
import seed.stages.pretrain.PretrainRequest;
import seed.stages.pretrain.Pretraining;
import seed.stages.train.TrainResult;
import seed.stages.train.TrainSettings;

/** Stage 1 as a Kestra task: next-token pretraining of a decoder-only transformer on a text corpus. */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Pretrain a GPT-shaped model on raw text (stage 1).",
        description = "Trains with AdamW, warm-up + cosine decay and clipping; resumes from its last checkpoint when "
                + "a run with the same inputs and settings was interrupted, and reuses a completed one.")
@Plugin(examples = @Example(title = "Pretrain a tiny model", full = true, code = """
        id: pretrain
        namespace: seed
        tasks:
          - id: pretrain
            type: seed.workflows.tasks.Pretrain
            corpus: /data/corpus.txt
            steps: 300
            layers: 4
            width: 128
            heads: 4
            context: 128
        """))
public class Pretrain extends SeedTask<Pretrain.Output> {

    @Schema(title = "UTF-8 text corpus")
    @NotNull
    private Property<String> corpus;

    @Schema(title = "Optimizer steps")
    @Builder.Default
    private Property<Integer> steps = Property.ofValue(300);

    @Schema(title = "Sequences per batch")
    @Builder.Default
    private Property<Integer> batch = Property.ofValue(16);

    @Schema(title = "Peak learning rate")
    @Builder.Default
    private Property<Double> learningRate = Property.ofValue(3e-3);

    @Schema(title = "Context length (tokens)")
    @Builder.Default
    private Property<Integer> context = Property.ofValue(128);

    @Schema(title = "Transformer blocks")
    @Builder.Default
    private Property<Integer> layers = Property.ofValue(4);

    @Schema(title = "Model width (d_model)")
    @Builder.Default
    private Property<Integer> width = Property.ofValue(128);

    @Schema(title = "Attention heads")
    @Builder.Default
    private Property<Integer> heads = Property.ofValue(4);

    @Schema(title = "A model to start from instead of random weights: a Hugging Face folder (gpt2, llama, mistral, "
            + "qwen2) or a Seed checkpoint. With steps 0 it is adopted as it is (pretraining skipped); with steps > 0 "
            + "it is pretrained further on the corpus (domain adaptation). Empty = a new model.")
    @Builder.Default
    private Property<String> baseModel = Property.ofValue("");

    @Schema(title = "Architecture of a new model (gpt2 | llama)")
    @NotNull
    @Builder.Default
    private Property<Choices.Arch> arch = Property.ofValue(Choices.Arch.GPT2);

    @Schema(title = "Key/value heads of a new Llama-family model (grouped-query attention; 0 = heads)")
    @Builder.Default
    private Property<Integer> kvHeads = Property.ofValue(0);

    @Schema(title = "Seed of initialisation and batch sampling")
    @Builder.Default
    private Property<Long> randomSeed = Property.ofValue(1337L);

    @Schema(title = "Stop after this step with a resumable checkpoint (0 = run all steps)",
            description = "The learning-rate schedule still spans all steps: seed.sweep's rungs stop here and continue.")
    @Builder.Default
    private Property<Integer> stopAt = Property.ofValue(0);

    @Schema(title = "Continue this stopped run's checkpoint (same settings) instead of starting over; empty = none")
    @Builder.Default
    private Property<String> resumeFrom = Property.ofValue("");

    /** Trains: one training stage at a time per process ({@link TrainingGate}). */
    @Override
    protected boolean recordsGradients() {
        return true;
    }

    @Override
    protected Output execute(RunContext rc) throws Exception {
        Path corpusFile = existing(rc, corpus, "corpus");
        String baseName = optional(rc, baseModel, String.class, "");
        Path base = baseName.isBlank() ? null : existing(rc, baseModel, "baseModel");
        int stepCount = required(rc, steps, "steps", Integer.class);
        if (stepCount < 0 || (stepCount == 0 && base == null)) {
            throw new IllegalArgumentException("input 'steps' must be positive, or 0 with a baseModel (adopt it "
                    + "without pretraining), got " + stepCount);
        }
        Architecture architecture = base != null ? Architecture.GPT2 : new Architecture(
                Family.parse(Choices.spelling(optional(rc, arch, Choices.Arch.class, Choices.Arch.GPT2))), optional(rc, kvHeads, Integer.class, 0), 0, 0);
        TrainSettings d = TrainSettings.defaults();
        TrainSettings train = new TrainSettings(Math.max(1, stepCount),
                required(rc, batch, "batch", Integer.class), required(rc, learningRate, "learningRate", Double.class)
                .floatValue(), d.minLearningRate(), d.warmupSteps(), d.weightDecay(), d.clipNorm(), d.evalEvery(),
                d.checkpointEvery(), d.keepCheckpoints(), required(rc, randomSeed, "randomSeed", Long.class), d.logEveryMs());
        int ctx = required(rc, context, "context", Integer.class);
        int nLayers = required(rc, layers, "layers", Integer.class);
        int modelWidth = required(rc, width, "width", Integer.class);
        int nHeads = required(rc, heads, "heads", Integer.class);
        Map<String, Object> settings = new LinkedHashMap<>(Settings.of(train));
        settings.put("context", ctx);
        settings.put("layers", nLayers);
        settings.put("d_model", modelWidth);
        settings.put("heads", nHeads);
        Map<String, Path> inputs = new LinkedHashMap<>();
        inputs.put("corpus", corpusFile);
        PartialRun part = PartialRun.of(optional(rc, stopAt, Integer.class, 0),
                optional(rc, resumeFrom, String.class, ""), stepCount);
        part.address(settings, inputs);
        if (base != null) {
            inputs.put("base_model", base); // its hash addresses the store and enters the lineage
            settings.put("steps", stepCount);
        } else if (architecture.family() != Family.GPT2) {
            settings.put("arch", architecture); // GPT-2 runs keep the address they always had
        }
        Result r = stage(rc, "pretrain", settings, inputs, (dir, console) -> {
            if (base != null && stepCount == 0) {
                TrainResult t = Pretraining.adopt(base, corpusFile, dir, ctx, train.batchSize(), train.seed(), console);
                return new StageOutcome(Map.of("checkpoint", t.checkpoint(), "metrics", t.metrics(), "chart",
                        t.lossChart()), Settings.trainMetrics(t));
            }
            TrainResult t = Pretraining.run(new PretrainRequest(corpusFile, dir, null, ctx, nLayers, modelWidth, nHeads,
                    train, part.resumeIn(dir), part.stopAt(), base, architecture), console);
            return new StageOutcome(Map.of("checkpoint", t.checkpoint(), "metrics", t.metrics(), "chart",
                    t.lossChart()), Settings.trainMetrics(t));
        });
        return Output.builder().checkpoint(r.path("checkpoint")).sha256(r.sha256("checkpoint"))
                .metricsFile(r.path("metrics")).chart(r.path("chart")).reused(r.reused())
                .valLoss((Double) r.metric("val_loss")).firstValLoss((Double) r.metric("first_val_loss"))
                .build();
    }

    /** What later tasks and the lineage read: {@code {{ outputs.pretrain.checkpoint }}} and friends. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "The final checkpoint folder")
        private final String checkpoint;
        @Schema(title = "SHA-256 of the checkpoint folder")
        private final String sha256;
        @Schema(title = "metrics.jsonl of the run")
        private final String metricsFile;
        @Schema(title = "Loss chart (SVG)")
        private final String chart;
        @Schema(title = "Validation loss at the end")
        private final Double valLoss;
        @Schema(title = "Validation loss at the first evaluation")
        private final Double firstValLoss;
        @Schema(title = "True when an earlier identical run was reused")
        private final boolean reused;
    }
}
