package seed.stages.sft;

import java.nio.file.Path;
import seed.stages.model.LoraSettings;
import seed.stages.data.Truncation;
import seed.stages.train.TrainSettings;

/**
 * Everything an SFT run needs, explicitly.
 *
 * @param base       checkpoint or run folder of the pretrained model (its tokenizer comes with it)
 * @param data       JSONL of {"prompt", "response"} objects or {"messages": [...]} conversations
 * @param outDir     run folder
 * @param settings   optimisation settings
 * @param truncation what to do with examples that do not fit (TRL's meanings; {@link Truncation#strict()} refuses them)
 * @param resumeFrom an SFT checkpoint or run folder to continue from (null = start from base)
 * @param stopAt     stop after this step with a resumable checkpoint (0 = run to the end)
 * @param lora       train LoRA adapters on a frozen base instead of every weight (null = full fine-tuning)
 */
public record SftRequest(Path base, Path data, Path outDir, TrainSettings settings, Truncation truncation,
        Path resumeFrom, long stopAt, LoraSettings lora) {

    /** Full fine-tuning (no adapters). */
    public SftRequest(Path base, Path data, Path outDir, TrainSettings settings, Truncation truncation,
            Path resumeFrom, long stopAt) {
        this(base, data, outDir, settings, truncation, resumeFrom, stopAt, null);
    }

    /** The earlier form: {@code truncateLeft} = {@code --truncate-prompt left}; responses that do not fit are errors. */
    public SftRequest(Path base, Path data, Path outDir, TrainSettings settings, boolean truncateLeft, Path resumeFrom,
            long stopAt) {
        this(base, data, outDir, settings, new Truncation(0, 0, truncateLeft ? Truncation.Prompt.LEFT : Truncation.Prompt.ERROR,
                Truncation.Response.ERROR), resumeFrom, stopAt);
    }

    /** True when prompts that do not fit are cut at the left (kept for callers of the earlier form). */
    public boolean truncateLeft() {
        return truncation.prompt() == Truncation.Prompt.LEFT;
    }
}
