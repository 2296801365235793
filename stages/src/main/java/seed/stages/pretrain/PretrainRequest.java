package seed.stages.pretrain;

import java.nio.file.Path;
import seed.stages.model.Architecture;
import seed.stages.train.TrainSettings;

/**
 * Everything a pretraining run needs, explicitly.
 *
 * @param corpus       UTF-8 text file
 * @param outDir       run folder (checkpoints, metrics.jsonl, report/)
 * @param tokenizerDir folder with a tokenizer.json (null = bytes)
 * @param context      sequence length; also the model's context
 * @param layers       transformer blocks
 * @param dModel       width
 * @param heads        attention heads
 * @param settings     optimisation settings
 * @param resumeFrom   checkpoint or run folder to continue from (null = fresh)
 * @param stopAt       stop after this step with a resumable checkpoint (0 = run to the end)
 * @param initFrom     model to continue pretraining (a Seed checkpoint or a Hugging Face folder: its weights, shape
 *                     and tokenizer; null = random init)
 * @param architecture family and Llama options of a model built from scratch (null = GPT-2)
 */
public record PretrainRequest(Path corpus, Path outDir, Path tokenizerDir, int context, int layers, int dModel,
        int heads, TrainSettings settings, Path resumeFrom, long stopAt, Path initFrom, Architecture architecture) {

    public PretrainRequest {
        architecture = architecture == null ? Architecture.GPT2 : architecture;
    }

    /** A GPT-2 run (random initialisation, or from {@code initFrom}). */
    public PretrainRequest(Path corpus, Path outDir, Path tokenizerDir, int context, int layers, int dModel, int heads,
            TrainSettings settings, Path resumeFrom, long stopAt, Path initFrom) {
        this(corpus, outDir, tokenizerDir, context, layers, dModel, heads, settings, resumeFrom, stopAt, initFrom, null);
    }

    /** A run from random initialisation (no {@code initFrom}). */
    public PretrainRequest(Path corpus, Path outDir, Path tokenizerDir, int context, int layers, int dModel, int heads,
            TrainSettings settings, Path resumeFrom, long stopAt) {
        this(corpus, outDir, tokenizerDir, context, layers, dModel, heads, settings, resumeFrom, stopAt, null);
    }
}
