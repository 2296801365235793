package seed.workflows.pipeline;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.train.Threads;

/**
 * {@code seed pipeline}: Seed's main job. Runs the stages end to end on embedded defaults and generated demo data,
 * resumable with the same --out. Prints one {@code name=value} line per headline metric at the end.
 */
@Command(name = "pipeline", mixinStandardHelpOptions = true,
        description = "Run the whole pipeline (pretrain -> SFT -> candidates -> annotation over Kafka into PostgreSQL -> "
                + "reward model -> PPO) into one run folder; rerun the same command to resume.")
public final class PipelineCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, description = "Run folder; an existing one is resumed.")
    Path out;

    @Option(names = "--corpus", description = "Pretraining text (default: a generated demo corpus).")
    Path corpus;

    @Option(names = "--sft-data", description = "SFT JSONL (default: generated demo instructions).")
    Path sftData;

    @Option(names = "--seed", description = "default: ${DEFAULT-VALUE}")
    long seed = 1337;

    @Option(names = "--threads", description = "libtorch intra-op threads (default: ${DEFAULT-VALUE}).")
    int threads = 1;

    @Option(names = "--pretrain-steps", description = "default: ${DEFAULT-VALUE}")
    int pretrainSteps = 300;

    @Option(names = "--sft-steps", description = "default: ${DEFAULT-VALUE}")
    int sftSteps = 400;

    @Option(names = "--reward-steps", description = "default: ${DEFAULT-VALUE}")
    int rewardSteps = 200;

    @Option(names = "--ppo-iterations", description = "default: ${DEFAULT-VALUE}")
    int ppoIterations = 40;

    @Override
    public Integer call() throws Exception {
        Threads.configure(threads);
        PipelineSettings d = PipelineSettings.defaults(out);
        PipelineSettings settings = new PipelineSettings(out, corpus, sftData, seed, threads, pretrainSteps, sftSteps,
                d.layers(), d.dModel(), d.heads(), d.context(), rewardSteps, ppoIterations);
        Pipeline pipeline = new Pipeline(settings, System.out);
        Map<String, Object> headline = pipeline.run();
        System.out.println("run=" + pipeline.manifest().file());
        headline.forEach((k, v) -> System.out.println(k + "=" + v));
        return 0;
    }
}
