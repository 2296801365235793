package seed.workflows.pipeline;

import java.nio.file.Path;

/**
 * The knobs of a pipeline run, with defaults sized so the whole demo pipeline finishes in minutes on 2 CPU cores.
 *
 * @param out            run folder (every stage's output, run.json, report/)
 * @param corpus         pretraining text (null = the generated demo corpus)
 * @param sftData        SFT JSONL (null = the generated demo instructions)
 * @param seed           seeds every stage
 * @param threads        libtorch intra-op threads
 * @param pretrainSteps  steps of stage 1
 * @param sftSteps       steps of stage 2
 * @param layers         transformer blocks
 * @param dModel         width
 * @param heads          attention heads
 * @param context        context length
 * @param rewardSteps    reward-model training steps
 * @param ppoIterations  PPO iterations
 */
public record PipelineSettings(Path out, Path corpus, Path sftData, long seed, int threads, int pretrainSteps,
        int sftSteps, int layers, int dModel, int heads, int context, int rewardSteps, int ppoIterations) {

    public static PipelineSettings defaults(Path out) {
        return new PipelineSettings(out, null, null, 1337, 1, 300, 400, 3, 96, 4, 96, 200, 40);
    }
}
