package seed.stages.sft;

import java.nio.file.Path;
import seed.stages.train.TrainSettings;

/**
 * Everything an SFT run needs, explicitly.
 *
 * @param base         checkpoint or run folder of the pretrained model (its tokenizer comes with it)
 * @param data         JSONL of {"prompt", "response"} objects
 * @param outDir       run folder
 * @param settings     optimisation settings
 * @param truncateLeft keep the end of prompts that do not fit the context instead of failing
 * @param resumeFrom   an SFT checkpoint or run folder to continue from (null = start from base)
 * @param stopAt       stop after this step with a resumable checkpoint (0 = run to the end)
 */
public record SftRequest(Path base, Path data, Path outDir, TrainSettings settings, boolean truncateLeft,
        Path resumeFrom, long stopAt) {
}
