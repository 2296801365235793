package seed.workflows.tasks;

import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.stages.data.Truncation;
import seed.stages.generate.Candidates;
import seed.stages.generate.SamplingSettings;

/** Samples K responses per prompt from a checkpoint: what annotators will rank. */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Sample K candidate responses per prompt for annotation.",
        description = "Every line carries the checkpoint's SHA-256, so a ranking traces back to the model that wrote it.")
@Plugin(examples = @Example(title = "Four candidates per prompt", full = true, code = """
        id: candidates
        namespace: seed
        tasks:
          - id: candidates
            type: seed.workflows.tasks.GenerateCandidates
            model: "{{ outputs.sft.checkpoint }}"
            prompts: /data/prompts.jsonl
            k: 4
        """))
public class GenerateCandidates extends TruncatingTask<GenerateCandidates.Output> {

    @Schema(title = "Checkpoint to sample from")
    @NotNull
    private Property<String> model;

    @Schema(title = "Prompts (JSONL with \"prompt\")")
    @NotNull
    private Property<String> prompts;

    @Schema(title = "Responses per prompt (>= 2)")
    @Builder.Default
    private Property<Integer> k = Property.ofValue(4);

    @Schema(title = "Sampling temperature (0 = greedy)")
    @Builder.Default
    private Property<Double> temperature = Property.ofValue(1.0);

    @Schema(title = "New tokens per response at most")
    @Builder.Default
    private Property<Integer> maxNewTokens = Property.ofValue(48);

    @Schema(title = "Sampling seed")
    @Builder.Default
    private Property<Long> randomSeed = Property.ofValue(1339L);

    @Override
    protected Output execute(RunContext rc) throws Exception {
        Path modelDir = existing(rc, model, "model");
        Path promptFile = existing(rc, prompts, "prompts");
        int count = required(rc, k, "k", Integer.class);
        SamplingSettings sampling = new SamplingSettings(required(rc, temperature, "temperature", Double.class)
                .floatValue(), 0, 1f, required(rc, maxNewTokens, "maxNewTokens", Integer.class), List.of(),
                required(rc, randomSeed, "randomSeed", Long.class), true);
        Truncation truncation = truncation(rc);
        Map<String, Object> settings = new TreeMap<>(Settings.of(sampling));
        settings.put("k", count);
        settings.put("truncation", describe(truncation));
        Result r = stage(rc, "candidates", settings, Map.of("model", modelDir, "prompts", promptFile),
                (dir, console) -> {
                    Candidates.Result c = Candidates.generate(modelDir, promptFile, count, sampling,
                            truncation, dir.resolve("candidates.jsonl"), console);
                    return new StageOutcome(Map.of("candidates", c.file()), Map.of("prompts", c.prompts(),
                            "responses", c.responses()));
                });
        return Output.builder().candidates(r.path("candidates")).sha256(r.sha256("candidates"))
                .prompts(((Number) r.metric("prompts")).intValue()).responses(((Number) r.metric("responses"))
                        .intValue()).reused(r.reused()).build();
    }

    /** The candidates file and its hash. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "Candidates JSONL")
        private final String candidates;
        @Schema(title = "SHA-256 of the candidates file")
        private final String sha256;
        @Schema(title = "Prompts sampled")
        private final int prompts;
        @Schema(title = "Responses written")
        private final int responses;
        @Schema(title = "True when an earlier identical run was reused")
        private final boolean reused;
    }
}
