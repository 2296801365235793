package seed.stages.cli;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.generate.Generator;
import seed.stages.generate.SamplingSettings;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.serve.OpenAiServer;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.Threads;

/**
 * {@code seed bench serve}: what {@code seed serve} delivers to HTTP clients. Starts the server in this JVM on a free
 * port and measures streamed completions of a fixed length ({@code ignore_eos}) through the JDK's HTTP client:
 * single-stream tokens/s against the in-process KV-cache rate of {@code seed bench generate}'s batch-1 path, aggregate
 * tokens/s at several numbers of concurrent streams (continuous batching), and time to first token. Beside each
 * concurrency c: the in-process rate of c sequences generated as one batch ({@code generate_batch_speedup_bC} is the
 * ceiling of {@code aggregate_speedup_cC}: the model's batched step costs more than its batch-1 step), and the decode
 * loop thread's CPU time per token and tokens per step (CPU time: comparable on a loaded machine). Without
 * {@code --model}, a randomly initialised model of the benchmark shape (4 layers, d128, 4 heads, context 128, bytes):
 * speed does not depend on the weights.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serving benchmark; prints single_stream_tokens_per_s=, aggregate_tokens_per_s_cN=, "
                + "generate_batch_speedup_bN= (the in-process ceiling of aggregate_speedup_cN=), "
                + "loop_cpu_us_per_token_cN=, ttft_p50_ms=, ttft_p99_ms= (name=value).")
public final class BenchServeCommand implements Callable<Integer> {

    @Option(names = "--model", description = "Checkpoint or model folder (default: a random benchmark-shape model).")
    Path model;
    @Option(names = "--new-tokens", description = "Tokens per stream (default: ${DEFAULT-VALUE}).") int newTokens = 100;
    @Option(names = "--prompt", description = "Prompt text (default: ${DEFAULT-VALUE}).") String prompt = "ROMEO:";
    @Option(names = "--concurrency", split = ",", description = "Concurrent streams to measure "
            + "(default: ${DEFAULT-VALUE}).")
    List<Integer> concurrency = List.of(1, 4, 8, 16);
    @Option(names = "--rounds", description = "Timed rounds per setting, best kept (default: ${DEFAULT-VALUE}).")
    int rounds = 5;
    @Option(names = "--stream-interval", description = "The server's tokens per streamed write "
            + "(default: ${DEFAULT-VALUE}).")
    int streamInterval = 1;
    @Option(names = "--threads", description = "default: ${DEFAULT-VALUE}") int threads = 1;
    @picocli.CommandLine.Mixin ComputeOptions compute = new ComputeOptions();

    @Override
    public Integer call() throws Exception {
        Threads.configure(threads);
        compute.apply();
        Tokenizer tokenizer = model == null ? new ByteTokenizer() : Checkpoints.loadTokenizer(model);
        try (Gpt gpt = model == null ? Gpt.initialize(GptConfig.defaults(tokenizer.vocabSize()), 1)
                : Checkpoints.loadModel(model)) {
            int context = gpt.config().context();
            int[] ids = tokenizer.encode(prompt);
            int tokens = Math.min(newTokens, context - ids.length);
            Generator generator = new Generator(gpt, tokenizer);
            int maxStreams = concurrency.stream().mapToInt(Integer::intValue).max().orElse(1);
            OpenAiServer.Settings settings = OpenAiServer.Settings.defaults("bench").withPort(0)
                    .withLimits(1 << 20, context, Math.max(64, maxStreams), 16, Math.max(32, maxStreams))
                    .withStreamInterval(streamInterval);
            try (OpenAiServer server = OpenAiServer.start(gpt, tokenizer, settings);
                    ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                URI url = URI.create(server.baseUrl() + "/completions");
                List<Double> ttft = Collections.synchronizedList(new ArrayList<>());
                long warmUntil = System.nanoTime() + 3_000_000_000L;
                while (System.nanoTime() < warmUntil) { // the JIT, the HTTP stack and every batch size warmed
                    round(http, url, pool, maxStreams, tokens, new ArrayList<>(), new long[1]);
                    round(http, url, pool, 1, tokens, new ArrayList<>(), new long[1]);
                    inProcessRate(generator, ids, tokens, 1);
                    inProcessRate(generator, ids, tokens, maxStreams);
                }
                // in-process and single-stream rounds alternate, so neither gets a quieter moment of the machine
                double inProcess = 0;
                double single = 0;
                for (int r = 0; r < rounds; r++) {
                    inProcess = Math.max(inProcess, inProcessRate(generator, ids, tokens, 1));
                    single = Math.max(single, round(http, url, pool, 1, tokens, ttft, new long[1]));
                }
                System.out.printf("prompt_tokens=%d%nnew_tokens=%d%ncontext=%d%nthreads=%d%nstream_interval=%d%n",
                        ids.length, tokens, context, threads, streamInterval);
                System.out.printf("generate_kv_tokens_per_s=%.0f%nsingle_stream_tokens_per_s=%.0f%n"
                        + "single_stream_vs_generate=%.3f%n", inProcess, single, single / inProcess);
                double one = 0;
                double batchOne = 0;
                for (int c : concurrency) {
                    double best = 0;
                    double batchBest = 0;
                    String before = server.stats();
                    long made = 0;
                    for (int r = 0; r < rounds; r++) {
                        // the model's own batched decode of c sequences: the ceiling of c concurrent streams
                        batchBest = Math.max(batchBest, inProcessRate(generator, ids, tokens, c));
                        long[] madeThisRound = new long[1];
                        best = Math.max(best, round(http, url, pool, c, tokens, ttft, madeThisRound));
                        made += madeThisRound[0];
                    }
                    String after = server.stats();
                    if (c == 1) {
                        one = best;
                        batchOne = batchBest;
                    }
                    System.out.printf("aggregate_tokens_per_s_c%d=%.0f%n", c, best);
                    if (one > 0 && c > 1) {
                        System.out.printf("aggregate_speedup_c%d=%.2f%n", c, best / one);
                    }
                    System.out.printf("generate_kv_tokens_per_s_b%d=%.0f%n", c, batchBest);
                    if (batchOne > 0 && c > 1) {
                        System.out.printf("generate_batch_speedup_b%d=%.2f%n", c, batchBest / batchOne);
                    }
                    double cpu = 0;
                    for (String part : List.of("join_cpu_ms", "model_cpu_ms", "sample_cpu_ms")) {
                        cpu += field(after, part) - field(before, part);
                    }
                    double steps = field(after, "steps") - field(before, "steps");
                    System.out.printf("loop_cpu_us_per_token_c%d=%.1f%nloop_tokens_per_step_c%d=%.2f%n", c,
                            made == 0 ? Double.NaN : cpu * 1e3 / made, c, steps == 0 ? Double.NaN : made / steps);
                }
                List<Double> sorted = new ArrayList<>(ttft);
                Collections.sort(sorted);
                System.out.printf("ttft_p50_ms=%.1f%nttft_p99_ms=%.1f%nttft_samples=%d%n", percentile(sorted, 0.5),
                        percentile(sorted, 0.99), sorted.size());
                System.out.println("decode_loop=" + server.stats().replace(' ', ','));
            }
        }
        return 0;
    }

    /**
     * {@code seed bench generate}'s KV-cache rate on the same model, prompt and length, {@code batch} sequences
     * generated together (batch 1: its default path): one generation, tokens/s over all sequences.
     */
    private static double inProcessRate(Generator generator, int[] ids, int tokens, int batch) {
        SamplingSettings settings = new SamplingSettings(1.0f, 0, 1.0f, tokens, List.of(), 7, true);
        long started = System.nanoTime();
        long made = 0;
        for (var g : generator.generate(Collections.nCopies(batch, ids), settings)) {
            made += g.tokens().length;
        }
        return made / ((System.nanoTime() - started) / 1e9);
    }

    /** A number {@code name=value} from the decode loop's stats line (0 when absent). */
    private static double field(String stats, String name) {
        for (String part : stats.split(" ")) {
            if (part.startsWith(name + "=")) {
                return Double.parseDouble(part.substring(name.length() + 1));
            }
        }
        return 0;
    }

    /** {@code streams} concurrent streamed completions of {@code tokens} tokens: aggregate tokens/s. */
    private double round(HttpClient http, URI url, ExecutorService pool, int streams, int tokens, List<Double> ttft,
            long[] madeOut) throws Exception {
        List<Future<Integer>> futures = new ArrayList<>();
        long started = System.nanoTime();
        for (int i = 0; i < streams; i++) {
            int seed = i;
            futures.add(pool.submit(() -> stream(http, url, tokens, seed, ttft)));
        }
        long total = 0;
        for (Future<Integer> f : futures) {
            total += f.get();
        }
        madeOut[0] += total;
        return total / ((System.nanoTime() - started) / 1e9);
    }

    /** One streamed completion; records its time to first token; returns the tokens it was told it got. */
    private int stream(HttpClient http, URI url, int tokens, int seed, List<Double> ttft) throws Exception {
        String body = "{\"prompt\": " + com.fasterxml.jackson.databind.node.TextNode.valueOf(prompt)
                + ", \"max_tokens\": " + tokens + ", \"temperature\": 1.0, \"seed\": " + seed
                + ", \"ignore_eos\": true, \"stream\": true, \"stream_options\": {\"include_usage\": true}}";
        long sent = System.nanoTime();
        HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(url)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("HTTP " + response.statusCode() + ": "
                    + new String(response.body().readAllBytes(), StandardCharsets.UTF_8));
        }
        int made = 0;
        boolean first = true;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(),
                StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (!line.startsWith("data: ")) {
                    continue;
                }
                if (first) {
                    ttft.add((System.nanoTime() - sent) / 1e6);
                    first = false;
                }
                int at = line.indexOf("\"completion_tokens\":");
                if (at >= 0) {
                    made = Integer.parseInt(line.substring(at + 20).split("[,}]")[0].trim());
                }
            }
        }
        return made;
    }

    private static double percentile(List<Double> sorted, double q) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
    }
}
