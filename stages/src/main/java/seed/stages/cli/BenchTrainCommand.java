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
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import seed.stages.data.TextCorpus;
import seed.stages.metrics.Memory;
import seed.stages.model.CpuFeatures;
import seed.stages.model.Gpt;
import seed.stages.model.Family;
import seed.stages.model.GptConfig;
import seed.stages.model.LoraSettings;
import seed.stages.model.Precision;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.train.Threads;
import seed.stages.train.TrainSettings;
import seed.stages.train.Trainer;

/**
 * {@code seed bench train}: median training-step throughput at a given shape, byte vocabulary, Adam, the same
 * measurement as the PyTorch reference trainer (forward + backward + optimizer step, batch sampling excluded).
 * With {@code --reference} it alternates with that trainer ({@code --rounds} times: Seed, PyTorch, Seed, ...) at the
 * same shape, threads and precision, because on a shared machine only side-by-side numbers compare; it prints the
 * medians, the range of the per-round ratios and the median ratio.
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
    @Option(names = "--precision", description = "fp32 or bf16 (default: ${DEFAULT-VALUE}); the reference then runs "
            + "under torch.autocast(bfloat16).") String precision = "fp32";
    @Option(names = "--device", description = "auto, cpu, gpu, gpu:N (default: ${DEFAULT-VALUE}).") String device = "auto";
    @Option(names = "--rounds", description = "Alternating Seed/reference rounds with --reference "
            + "(default: ${DEFAULT-VALUE}).") int rounds = 1;

    @Option(names = "--reference", description = "Also run this PyTorch reference script (torch_reference.py) with "
            + "the same shape and threads, and print torch_tokens_per_s= and ratio=.")
    Path reference;

    @Mixin
    ArchitectureOptions architecture;

    @Mixin
    LoraOptions lora;

    @Option(names = "--python", description = "Python for --reference (default: ${DEFAULT-VALUE}).")
    String python = "/tmp/torch-ref-venv/bin/python";

    @Override
    public Integer call() throws Exception {
        Threads.configure(threads);
        ByteTokenizer tokenizer = new ByteTokenizer();
        // The reference trains on raw bytes (vocabulary 256); ours adds 3 special tokens, which costs nothing.
        GptConfig config = architecture.architecture().config(tokenizer.vocabSize(), context, layers, dModel, heads);
        LoraSettings adapters = lora.settings();
        TrainSettings settings = new TrainSettings(warmup + steps, batch, 1e-3f, 1e-3f, 0, 0f, 0f, 1_000_000, 1_000_000,
                1, 0, 1_000_000, Precision.parse(precision), device);
        TextCorpus data = new TextCorpus(TextCorpus.tokenize(corpus, tokenizer), 0.1, batch, context, 0, 1);
        List<Double> seed = new ArrayList<>();
        List<Double> torch = new ArrayList<>();
        double lastLoss = Double.NaN;
        for (int round = 0; round < (reference == null ? 1 : rounds); round++) {
            double[] timed;
            try (Gpt model = Gpt.initialize(config, 0)) {
                if (adapters != null) {
                    model.addAdapters(adapters, 0);
                }
                timed = new Trainer("bench", model, tokenizer, data, settings,
                        Files.createTempDirectory("seed-bench"), System.err).timeSteps(warmup, steps);
            }
            // the closed model's Java-side buffers (host copies of its weights) are garbage now; without a
            // collection each further round adds ~100 MiB to the process's peak RSS at 8L d512 (measured)
            System.gc();
            double[] seconds = Arrays.copyOf(timed, steps);
            Arrays.sort(seconds);
            seed.add(batch * context / seconds[steps / 2]);
            lastLoss = timed[steps];
            System.err.printf("round %d: seed %.0f tokens/s%n", round + 1, seed.get(round));
            if (reference != null) {
                torch.add(runReference());
                System.err.printf("round %d: torch %.0f tokens/s (ratio %.3f)%n", round + 1, torch.get(round),
                        seed.get(round) / torch.get(round));
            }
        }
        double tokensPerSecond = median(seed);
        Boolean nativeBf16 = CpuFeatures.nativeBf16(CpuFeatures.flags());
        System.out.printf("arch=%s trainable_params=%d%n", config.family().name().toLowerCase(java.util.Locale.ROOT),
                adapters == null ? config.parameterCount() : trainableAdapterCount(config, adapters));
        System.out.printf("params=%d threads=%d precision=%s cpu_native_bf16=%s%n", config.parameterCount(), threads,
                settings.precision().name().toLowerCase(java.util.Locale.ROOT), nativeBf16 == null ? "unknown" : nativeBf16);
        System.out.printf("tokens_per_s=%.0f%nstep_ms=%.1f%nfinal_loss=%.4f%npeak_rss_mib=%d%n", tokensPerSecond,
                batch * context / tokensPerSecond * 1000, lastLoss, Memory.peakRssMib());
        if (reference != null) {
            List<Double> ratios = new ArrayList<>();
            for (int i = 0; i < seed.size(); i++) {
                ratios.add(seed.get(i) / torch.get(i));
            }
            System.out.printf("tokens_per_s_rounds=%s%ntorch_tokens_per_s_rounds=%s%n", join(seed), join(torch));
            System.out.printf("torch_tokens_per_s=%.0f%nratio=%.3f%nratio_min=%.3f%nratio_max=%.3f%n", median(torch),
                    median(ratios), java.util.Collections.min(ratios), java.util.Collections.max(ratios));
        }
        return 0;
    }

    /** Adapter scalars of a model of {@code config} with {@code adapters} (what LoRA trains). */
    private static long trainableAdapterCount(GptConfig config, LoraSettings adapters) {
        try (Gpt model = Gpt.initialize(config, 0)) {
            model.addAdapters(adapters, 0);
            return model.adapterWeights().values().stream().mapToLong(t -> t.data().length).sum();
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        java.util.Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static String join(List<Double> values) {
        return String.join(",", values.stream().map(v -> String.format("%.0f", v)).toList());
    }

    private double runReference() throws Exception {
        List<String> command = new ArrayList<>(List.of(python, reference.toString(), "--corpus", corpus.toString(),
                "--layers", "" + layers, "--d-model", "" + dModel, "--heads", "" + heads, "--context", "" + context,
                "--batch", "" + batch, "--steps", "" + steps, "--warmup", "" + warmup, "--threads", "" + threads));
        if (Precision.parse(precision) == Precision.BF16) {
            command.add("--bf16");
        }
        GptConfig config = architecture.architecture().config(259, context, layers, dModel, heads);
        if (config.family() == Family.LLAMA) {
            command.addAll(List.of("--arch", "llama", "--kv-heads", "" + config.kvHeads(), "--ffn", "" + config.ffn(),
                    "--rope-theta", "" + config.ropeTheta()));
        }
        if (lora.settings() != null) {
            command.addAll(List.of("--lora", "" + lora.settings().rank()));
        }
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
