package seed.stages.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.generate.Generation;
import seed.stages.generate.Generator;
import seed.stages.generate.SamplingSettings;
import seed.stages.model.Gpt;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.Threads;

/**
 * {@code seed bench generate}: sampling throughput with and without the KV cache on the same prompts, seeds and
 * lengths (the end token is suppressed by sampling a fixed number of tokens: generation runs to --new-tokens). Both
 * modes are warmed up before either is timed, and timed runs alternate between them.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generation benchmark; prints tokens_per_s_kv=, tokens_per_s_nokv=, speedup= (name=value).")
public final class BenchGenerateCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "Checkpoint or run folder.") Path model;
    @Option(names = "--new-tokens", description = "default: ${DEFAULT-VALUE}") int newTokens = 128;
    @Option(names = "--batch", description = "default: ${DEFAULT-VALUE}") int batch = 1;
    @Option(names = "--prompt", description = "Prompt text (default: ${DEFAULT-VALUE}).") String prompt = "ROMEO:";
    @Option(names = "--prompt-tokens", description = "Use the first N tokens of the prompt repeated to this length "
            + "instead (0 = the prompt as is; the cache saves more the longer the sequence). Default: ${DEFAULT-VALUE}.")
    int promptTokens = 0;
    @Option(names = "--repeats", description = "Timed runs per mode, alternating after warm-up runs of each (at least "
            + "2 and 1 s); the best is kept (default: ${DEFAULT-VALUE}).")
    int repeats = 3;
    @Option(names = "--threads", description = "default: ${DEFAULT-VALUE}") int threads = 1;
    @picocli.CommandLine.Mixin ComputeOptions compute = new ComputeOptions();

    @Override
    public Integer call() throws Exception {
        Threads.configure(threads);
        compute.apply();
        Tokenizer tokenizer = Checkpoints.loadTokenizer(model);
        try (Gpt gpt = Checkpoints.loadModel(model)) {
            Generator generator = new Generator(gpt, tokenizer);
            int[] ids = tokenizer.encode(prompt);
            if (promptTokens > 0) {
                int[] longer = new int[promptTokens];
                for (int i = 0; i < promptTokens; i++) {
                    longer[i] = ids[i % ids.length];
                }
                ids = longer;
            }
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                prompts.add(ids);
            }
            SamplingSettings settings = new SamplingSettings(1.0f, 0, 1.0f, newTokens, List.of(), 7, true);
            SamplingSettings without = settings.withKvCache(false);
            // warm both modes up first, then alternate, so neither is measured colder than the other or in a
            // quieter moment of the machine. Warm = at least two runs and a second of each: a cached run of
            // 128 tokens takes ~70 ms at batch 1, and its first ten (~1 s) run ~20% slower while the JIT compiles
            warm(generator, prompts, settings);
            warm(generator, prompts, without);
            double kv = 0;
            double noKv = 0;
            for (int r = 0; r < repeats; r++) {
                kv = Math.max(kv, rate(generator, prompts, settings));
                noKv = Math.max(noKv, rate(generator, prompts, without));
            }
            System.out.printf("prompt_tokens=%d%nnew_tokens=%d%nbatch=%d%ncontext=%d%n", ids.length, newTokens, batch,
                    gpt.config().context());
            System.out.printf("tokens_per_s_kv=%.0f%ntokens_per_s_nokv=%.0f%nspeedup=%.2f%n", kv, noKv, kv / noKv);
        }
        return 0;
    }

    /** Runs generations until at least two and one second's worth have run. */
    private static void warm(Generator generator, List<int[]> prompts, SamplingSettings settings) {
        long started = System.nanoTime();
        for (int r = 0; r < 2 || System.nanoTime() - started < 1_000_000_000L; r++) {
            rate(generator, prompts, settings);
        }
    }

    /** Generated tokens per second of one generation call. */
    private static double rate(Generator generator, List<int[]> prompts, SamplingSettings settings) {
        long started = System.nanoTime();
        List<Generation> out = generator.generate(prompts, settings);
        double seconds = (System.nanoTime() - started) / 1e9;
        return out.stream().mapToLong(g -> g.tokens().length).sum() / seconds;
    }
}
