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

/** {@code seed generate}: sample text from a checkpoint, with a KV cache by default. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Sample continuations from a checkpoint (KV cache on by default).")
public final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "Checkpoint or run folder.")
    Path model;

    @Option(names = "--prompt", required = true, description = "Prompt text.")
    String prompt;

    @Option(names = "--instruction", description = "Wrap the prompt as an SFT instruction "
            + "(<|prompt|> ... <|response|>) and stop at the end token.")
    boolean instruction;

    @Option(names = "--max-new-tokens", description = "At most this many new tokens (default: ${DEFAULT-VALUE}).")
    int maxNewTokens = 200;

    @Option(names = "--temperature", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature = 0.8f;

    @Option(names = "--top-k", description = "Keep the k most likely tokens, 0 = all (default: ${DEFAULT-VALUE}).")
    int topK = 0;

    @Option(names = "--top-p", description = "Nucleus sampling mass (default: ${DEFAULT-VALUE}).")
    float topP = 1.0f;

    @picocli.CommandLine.Mixin
    PenaltyOptions penalties = new PenaltyOptions();

    @Option(names = "--stop", description = "Stop sequence (repeatable).")
    List<String> stop = new ArrayList<>();

    @Option(names = "--seed", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--samples", description = "Continuations to generate as one batch (default: ${DEFAULT-VALUE}).")
    int samples = 1;

    @Option(names = "--no-kv-cache", description = "Recompute the whole sequence every step (for comparison).")
    boolean noKvCache;

    @Option(names = "--threads", description = "libtorch intra-op threads (default: ${DEFAULT-VALUE}).")
    int threads = 1;

    @picocli.CommandLine.Mixin

    seed.stages.cli.ComputeOptions compute = new seed.stages.cli.ComputeOptions();

    @Override
    public Integer call() throws Exception {
        if (samples < 1) {
            throw new IllegalArgumentException("--samples must be at least 1, got " + samples);
        }
        Threads.configure(threads);
        compute.apply();
        Tokenizer tokenizer = Checkpoints.loadTokenizer(model);
        try (Gpt gpt = Checkpoints.loadModel(model)) {
            Generator generator = new Generator(gpt, tokenizer);
            int[] ids = instruction ? generator.instructionPrompt(prompt) : tokenizer.encode(prompt);
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < samples; i++) {
                prompts.add(ids);
            }
            SamplingSettings settings = new SamplingSettings(temperature, topK, topP, maxNewTokens, stop, seed,
                    !noKvCache);
            settings = penalties.apply(settings);
            long started = System.nanoTime();
            List<Generation> generations = generator.generate(prompts, settings);
            double seconds = (System.nanoTime() - started) / 1e9;
            long tokens = 0;
            for (int i = 0; i < generations.size(); i++) {
                Generation g = generations.get(i);
                tokens += g.tokens().length;
                if (samples > 1) {
                    System.out.printf("--- sample %d (%s)%n", i + 1, g.stopReason());
                }
                System.out.println(instruction ? g.text() : prompt + g.text());
            }
            System.err.printf("generated %d tokens in %.2f s (%.0f tokens/s, kv cache %s)%n", tokens, seconds,
                    tokens / seconds, noKvCache ? "off" : "on");
        }
        return 0;
    }
}
