package seed.reward.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.reward.RewardModel;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.data.SyntheticInstructions;
import seed.stages.metrics.MetricsLog;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.rlhf.PpoSettings;
import seed.stages.rlhf.PpoTrainer;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.train.Threads;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code seed bench rlhf}: times PPO iterations at a small fixed shape (policy, reference and reward model of the design
 * brief's benchmark shape, randomly initialised, so every response runs to the token limit: the worst case for
 * rollouts). Prints {@code iteration_s=}, {@code rollout_share=} (fraction of an iteration spent generating) and
 * {@code rollout_tokens_per_s=}, plus the other phases.
 */
@Command(name = "rlhf", mixinStandardHelpOptions = true,
        description = "Benchmark PPO iterations (rollout share of the iteration time) at a small fixed shape.")
public final class RlhfBenchCommand implements Callable<Integer> {

    @Option(names = "--iterations", description = "Timed iterations after one warm-up (default: ${DEFAULT-VALUE}).")
    int iterations = 5;

    @Option(names = "--rollout-batch", description = "Prompts per iteration (default: ${DEFAULT-VALUE}).")
    int rolloutBatch = 32;

    @Option(names = "--max-new-tokens", description = "Response length (default: ${DEFAULT-VALUE}).")
    int maxNewTokens = 48;

    @Option(names = "--layers", description = "Layers (default: ${DEFAULT-VALUE}).")
    int layers = 4;

    @Option(names = "--d-model", description = "Width (default: ${DEFAULT-VALUE}).")
    int dModel = 128;

    @Option(names = "--threads", description = "libtorch intra-op threads (default: ${DEFAULT-VALUE}).")
    int threads = 1;

    @Override
    public Integer call() throws Exception {
        Threads.configure(threads);
        Path dir = Files.createTempDirectory("seed-bench-rlhf-");
        try {
            GptConfig config = new GptConfig(259, 128, layers, dModel, 4);
            ByteTokenizer tokenizer = new ByteTokenizer();
            Path policyDir = Files.createDirectories(dir.resolve("policy"));
            try (Gpt policy = Gpt.initialize(config, 1)) {
                Checkpoints.writeModel(policyDir, policy, tokenizer);
            }
            Path prompts = dir.resolve("prompts.jsonl");
            StringBuilder lines = new StringBuilder();
            for (var e : SyntheticInstructions.generate(200, 9, 0.5, 3)) {
                lines.append("{\"prompt\": \"").append(e.prompt()).append("\"}\n");
            }
            Files.writeString(prompts, lines);
            PpoSettings s = PpoSettings.defaults(policyDir, dir.resolve("rm"), prompts, dir.resolve("run"))
                    .withRollout(r -> r.withBatch(rolloutBatch, 1).withMaxNewTokens(maxNewTokens))
                    .withGuards(g -> new PpoSettings.Guards(1e9, false, 8, null))
                    .withRun(new PpoSettings.Run(iterations + 1, 1, 1000, 60_000));
            try (RewardModel rm = RewardModel.withFreshHead(Gpt.initialize(config, 2), tokenizer)) {
                PpoTrainer.train(s, rm, new PrintStream(OutputStream.nullOutputStream()));
            }
            List<Map<String, Object>> records = MetricsLog.read(s.out().resolve("metrics.jsonl"));
            List<Map<String, Object>> timed = records.subList(1, records.size()); // the first iteration warms up
            double[] iteration = timed.stream().mapToDouble(r -> num(r, "iteration_s")).sorted().toArray();
            double rollout = timed.stream().mapToDouble(r -> num(r, "rollout_s")).sum();
            double total = timed.stream().mapToDouble(r -> num(r, "iteration_s")).sum();
            double tokens = timed.stream().mapToDouble(r -> num(r, "rollout_tokens")).sum();
            System.out.printf("shape=%dx%d_ctx%d batch=%d max_new_tokens=%d threads=%d%n", layers, dModel, config.context(),
                    rolloutBatch, maxNewTokens, threads);
            System.out.printf("score_share=%.3f%n", timed.stream().mapToDouble(r -> num(r, "score_s")).sum() / total);
            System.out.printf("forward_share=%.3f%n", timed.stream().mapToDouble(r -> num(r, "forward_s")).sum() / total);
            System.out.printf("optimise_share=%.3f%n", timed.stream().mapToDouble(r -> num(r, "optimise_s")).sum() / total);
            System.out.printf("iteration_s=%.3f%n", iteration[iteration.length / 2]);
            System.out.printf("rollout_share=%.3f%n", rollout / total);
            System.out.printf("rollout_tokens_per_s=%.0f%n", tokens / rollout);
            // the whole iteration's throughput: generated tokens over rollout + scoring + forward passes + updates
            System.out.printf("iteration_tokens_per_s=%.0f%n", tokens / total);
            System.out.printf("peak_rss_mib=%d%n", seed.stages.metrics.Memory.peakRssMib());
            return 0;
        } finally {
            Checkpoints.deleteTree(dir);
        }
    }

    private static double num(Map<String, Object> r, String key) {
        return ((Number) r.get(key)).doubleValue();
    }
}
