package seed.reward.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.reward.RewardBench;
import seed.stages.metrics.Memory;
import seed.stages.model.GptConfig;
import seed.stages.train.Threads;

/**
 * {@code seed bench reward}: reward-model training throughput on K-wise rankings with long prompts, the shared-prefix
 * forward (each prompt computed once per group) against the per-sequence one (what TRL and OpenRLHF do: the prompt
 * once per response), alternating step by step on the same batches. Prints name=value lines.
 */
@Command(name = "reward", mixinStandardHelpOptions = true,
        description = "Reward-model training benchmark; prints pairs_per_s_shared=, pairs_per_s_naive=, speedup=.")
public final class RewardBenchCommand implements Callable<Integer> {

    @Option(names = "--k", description = "Responses per prompt (default: ${DEFAULT-VALUE}).") int k = 4;
    @Option(names = "--prompt-tokens", description = "default: ${DEFAULT-VALUE}") int promptTokens = 384;
    @Option(names = "--response-tokens", description = "default: ${DEFAULT-VALUE}") int responseTokens = 128;
    @Option(names = "--groups", description = "Prompt groups per batch (default: ${DEFAULT-VALUE}).") int groups = 2;
    @Option(names = "--layers", description = "default: ${DEFAULT-VALUE}") int layers = 4;
    @Option(names = "--d-model", description = "default: ${DEFAULT-VALUE}") int dModel = 128;
    @Option(names = "--heads", description = "default: ${DEFAULT-VALUE}") int heads = 4;
    @Option(names = "--steps", description = "Timed steps per path (default: ${DEFAULT-VALUE}).") int steps = 6;
    @Option(names = "--warmup", description = "Untimed steps first (default: ${DEFAULT-VALUE}).") int warmup = 1;
    @Option(names = "--threads", description = "default: ${DEFAULT-VALUE}") int threads = 1;

    @Override
    public Integer call() {
        Threads.configure(threads);
        int context = promptTokens + responseTokens + 3; // [prompt] prompt [response] response [end]
        GptConfig config = new GptConfig(259, context, layers, dModel, heads);
        RewardBench.Result r = RewardBench.run(config, groups, k, promptTokens, responseTokens, steps, warmup, 1);
        double shared = r.pairsPerStep() / r.sharedSeconds();
        double naive = r.pairsPerStep() / r.naiveSeconds();
        System.out.printf("k=%d%nprompt_tokens=%d%nresponse_tokens=%d%ngroups_per_batch=%d%npairs_per_step=%d%n", k,
                promptTokens, responseTokens, groups, r.pairsPerStep());
        System.out.printf("pairs_per_s_shared=%.1f%npairs_per_s_naive=%.1f%nspeedup=%.2f%nmax_loss_diff=%.2e%n"
                + "peak_rss_mib=%d%n", shared, naive, shared / naive, r.maxLossDifference(), Memory.peakRssMib());
        return 0;
    }
}
