package seed.workflows.tasks;

import io.kestra.core.models.property.Property;
import io.kestra.core.models.tasks.Output;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import java.util.Arrays;
import java.util.List;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.stages.model.LoraSettings;

/**
 * A training task that can train LoRA adapters instead of every weight (SFT, reward model, RL): the three inputs
 * every such stage shares, rendered into {@link LoraSettings} in one place, as the command line's {@code --lora-*}
 * flags are (a flow passes one {@code lora_rank} to all of them).
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
public abstract class AdaptedTrainingTask<O extends Output> extends TruncatingTask<O> {

    @Schema(title = "LoRA rank: train low-rank adapters on the frozen model instead of every weight (0 = every weight; "
            + "Llama-family models)")
    @Builder.Default
    protected Property<Integer> loraRank = Property.ofValue(0);

    @Schema(title = "LoRA alpha: the adapters' update is scaled by alpha / rank (0 = 2 x rank)")
    @Builder.Default
    protected Property<Double> loraAlpha = Property.ofValue(0.0);

    @Schema(title = "Whole modules that train beside the adapters (PEFT's modules_to_save, comma-separated), e.g. "
            + "embed_tokens,lm_head when the tokenizer has tokens the base never trained")
    @Builder.Default
    protected Property<String> loraModulesToSave = Property.ofValue("");

    /** The adapters these inputs ask for on every projection, or null when {@code loraRank} is 0. */
    protected LoraSettings lora(RunContext rc) throws Exception {
        int rank = optional(rc, loraRank, Integer.class, 0);
        if (rank < 0) {
            throw new IllegalArgumentException("input 'loraRank' must be 0 (off) or positive, got " + rank);
        }
        String modules = optional(rc, loraModulesToSave, String.class, "");
        return rank == 0 ? null : new LoraSettings(rank, optional(rc, loraAlpha, Double.class, 0.0), 0,
                List.of("q", "k", "v", "o", "gate", "up", "down"), false, Arrays.stream(modules.split(","))
                        .map(String::strip).filter(m -> !m.isEmpty()).toList());
    }
}
