package seed.stages.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.data.TextCorpus;
import seed.stages.metrics.Memory;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.train.Threads;
import seed.stages.train.TrainSettings;
import seed.stages.train.Trainer;

/**
 * {@code seed bench train}: median training-step throughput at a given shape, byte vocabulary, Adam, the same
 * measurement as the PyTorch reference trainer (forward + backward + optimizer step, batch sampling excluded).
 * With {@code --reference} it runs that trainer right after, with the same shape and threads, and prints the ratio.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Training throughput benchmark; prints tokens_per_s=, step_ms=, peak_rss_mib= (name=value).")
public final class BenchTrainCommand implements Callable<Integer> {

    @Option(names = "--corpus", required = true, description = "UTF-8 text file.")
    Path corpus;

    @Option(names = "--layers", description = "default: ${DEFAULT-VALUE}") int layers = 4;
    @Option(names = "--d-model", description = "default: ${DEFAULT-VALUE}") int dModel = 128;
    @Option(names = "--heads", description = "default: ${DEFAULT-VALUE}") int heads = 4;
    @Option(names = "--context", description = "default: ${DEFAULT-VALUE}") int context = 128;
    @Option(names = "--batch", description = "default: ${DEFAULT-VALUE}") int batch = 16;
    @Option(names = "--steps", description = "Timed steps (default: ${DEFAULT-VALUE}).") int steps = 100;
    @Option(names = "--warmup", description = "Untimed steps first (default: ${DEFAULT-VALUE}).") int warmup = 5;
    @Option(names = "--threads", description = "default: ${DEFAULT-VALUE}") int threads = 1;

    @Option(names = "--reference", description = "Also run this PyTorch reference script (torch_reference.py) with "
            + "the same shape and threads, and print torch_tokens_per_s= and ratio=.")
    Path reference;

    @Option(names = "--python", description = "Python for --reference (default: ${DEFAULT-VALUE}).")
    String python = "/tmp/torch-ref-venv/bin/python";

    @Override
    public Integer call() throws Exception {
        Threads.configure(threads);
        ByteTokenizer tokenizer = new ByteTokenizer();
        // The reference trains on raw bytes (vocabulary 256); ours adds 3 special tokens, which costs nothing.
        GptConfig config = new GptConfig(tokenizer.vocabSize(), context, layers, dModel, heads);
        TrainSettings settings = new TrainSettings(warmup + steps, batch, 1e-3f, 1e-3f, 0, 0f, 0f, 1_000_000, 1_000_000,
                1, 0, 1_000_000);
        TextCorpus data = new TextCorpus(TextCorpus.tokenize(corpus, tokenizer), 0.1, batch, context, 0, 1);
        double[] timed;
        try (Gpt model = Gpt.initialize(config, 0)) {
            timed = new Trainer("bench", model, tokenizer, data, settings, Files.createTempDirectory("seed-bench"),
                    System.err).timeSteps(warmup, steps);
        }
        double[] seconds = Arrays.copyOf(timed, steps);
        Arrays.sort(seconds);
        double median = seconds[steps / 2];
        double tokensPerSecond = batch * context / median;
        System.out.printf("params=%d threads=%d%n", config.parameterCount(), threads);
        System.out.printf("tokens_per_s=%.0f%nstep_ms=%.1f%nfinal_loss=%.4f%npeak_rss_mib=%d%n", tokensPerSecond,
                median * 1000, timed[steps], Memory.peakRssMib());
        if (reference != null) {
            double torch = runReference();
            System.out.printf("torch_tokens_per_s=%.0f%nratio=%.3f%n", torch, tokensPerSecond / torch);
        }
        return 0;
    }

    private double runReference() throws Exception {
        List<String> command = new ArrayList<>(List.of(python, reference.toString(), "--corpus", corpus.toString(),
                "--layers", "" + layers, "--d-model", "" + dModel, "--heads", "" + heads, "--context", "" + context,
                "--batch", "" + batch, "--steps", "" + steps, "--warmup", "" + warmup, "--threads", "" + threads));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        double tokens = Double.NaN;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                System.err.println("reference: " + line);
                for (String part : line.split(" ")) {
                    if (part.startsWith("tokens_per_s=")) {
                        tokens = Double.parseDouble(part.substring("tokens_per_s=".length()));
                    }
                }
            }
        }
        if (process.waitFor() != 0 || Double.isNaN(tokens)) {
            throw new IllegalStateException("the reference trainer failed (exit " + process.exitValue() + ")");
        }
        return tokens;
    }
}
