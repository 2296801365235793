package seed.stages.cli;

import java.net.URI;
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
 * port and measures streamed completions of a fixed length ({@code ignore_eos}) through a plain HTTP/1.1 socket client:
 * single-stream tokens/s against the in-process KV-cache rate of {@code seed bench generate}'s batch-1 path, aggregate
 * tokens/s at several numbers of concurrent streams (continuous batching), and time to first token. Beside each
 * concurrency c: the in-process rate of c sequences generated as one batch ({@code generate_batch_speedup_bC} is the
 * ceiling of {@code aggregate_speedup_cC}: the model's batched step costs more than its batch-1 step), and the decode
 * loop thread's CPU time per token and tokens per step, and the HTTP side's CPU time per token (CPU time: comparable
 * on a loaded machine). Without {@code --model}, a randomly initialised model of the benchmark shape (4 layers,
 * d128, 4 heads, context 128, bytes): speed does not depend on the weights.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serving benchmark; prints single_stream_tokens_per_s=, aggregate_tokens_per_s_cN=, "
                + "generate_batch_speedup_bN= (the in-process ceiling of aggregate_speedup_cN=), "
                + "loop_cpu_us_per_token_cN=, http_cpu_us_per_token_cN= (the server's HTTP side), ttft_p50_ms=, "
                + "ttft_p99_ms=, and loop_tokens_per_s_cN= (the decode loop alone, no HTTP) (name=value).")
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
            // the client on platform threads: the server's request threads are virtual, so the CPU time of their
            // carrier threads is the server's HTTP side alone (http_cpu_us_per_token_cN)
            try (OpenAiServer server = OpenAiServer.start(gpt, tokenizer, settings);
                    ExecutorService pool = Executors.newCachedThreadPool()) {
                URI url = URI.create(server.baseUrl() + "/completions");
                List<Double> ttft = Collections.synchronizedList(new ArrayList<>());
                long warmUntil = System.nanoTime() + 3_000_000_000L;
                while (System.nanoTime() < warmUntil) { // the JIT, the HTTP stack and every batch size warmed
                    round(url, pool, maxStreams, tokens, new ArrayList<>(), new long[1]);
                    round(url, pool, 1, tokens, new ArrayList<>(), new long[1]);
                    inProcessRate(generator, ids, tokens, 1);
                    inProcessRate(generator, ids, tokens, maxStreams);
                }
                // in-process and single-stream rounds alternate, so neither gets a quieter moment of the machine
                double inProcess = 0;
                double single = 0;
                for (int r = 0; r < rounds; r++) {
                    inProcess = Math.max(inProcess, inProcessRate(generator, ids, tokens, 1));
                    single = Math.max(single, round(url, pool, 1, tokens, ttft, new long[1]));
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
                    long httpBefore = httpCpuNanos();
                    long made = 0;
                    for (int r = 0; r < rounds; r++) {
                        // the model's own batched decode of c sequences: the ceiling of c concurrent streams
                        batchBest = Math.max(batchBest, inProcessRate(generator, ids, tokens, c));
                        long[] madeThisRound = new long[1];
                        best = Math.max(best, round(url, pool, c, tokens, ttft, madeThisRound));
                        made += madeThisRound[0];
                    }
                    String after = server.stats();
                    long httpCpu = httpCpuNanos() - httpBefore;
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
                    System.out.printf("http_cpu_us_per_token_c%d=%.1f%n", c,
                            made == 0 ? Double.NaN : httpCpu / 1e3 / made);
                }
                // the same streams in process, straight on a decode loop (no HTTP, no SSE): what the batched decode
                // step allows; aggregate_speedup_cN far below loop_speedup_cN means HTTP costs the difference
                double loopOne = 0;
                try (seed.stages.serve.DecodeLoop loop = new seed.stages.serve.DecodeLoop(gpt, tokenizer,
                        Math.max(32, maxStreams))) {
                    for (int c : concurrency) {
                        double best = 0;
                        for (int r = 0; r < rounds; r++) {
                            best = Math.max(best, loopRound(loop, ids, c, tokens));
                        }
                        if (c == 1) {
                            loopOne = best;
                        }
                        System.out.printf("loop_tokens_per_s_c%d=%.0f%n", c, best);
                        if (loopOne > 0 && c > 1) {
                            System.out.printf("loop_speedup_c%d=%.2f%n", c, best / loopOne);
                        }
                    }
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

    /**
     * CPU time of the server's HTTP side so far: the virtual threads' carriers (request parsing, SSE rendering,
     * writes) and the HTTP server's dispatcher (accepts, selects). Carriers that ended since are not counted, so a
     * difference over a few seconds of load is what is meant.
     */
    private static long httpCpuNanos() {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (java.lang.management.ThreadInfo info : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (info != null && (info.getThreadName().startsWith("ForkJoinPool-")
                    || info.getThreadName().startsWith("HTTP-Dispatcher"))) {
                sum += Math.max(0, mx.getThreadCpuTime(info.getThreadId()));
            }
        }
        return sum;
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

    /** {@code streams} sequences submitted at once to {@code loop} in this process: aggregate tokens/s. */
    private static double loopRound(seed.stages.serve.DecodeLoop loop, int[] ids, int streams, int tokens)
            throws InterruptedException {
        java.util.concurrent.BlockingQueue<seed.stages.serve.Sequence.Event> events =
                new java.util.concurrent.LinkedBlockingQueue<>();
        long started = System.nanoTime();
        for (int i = 0; i < streams; i++) {
            loop.submit(i, ids, new SamplingSettings(1.0f, 0, 1.0f, tokens, List.of(), i, true),
                    new seed.stages.serve.Sequence.Options(0, false, false, true), events);
        }
        long made = 0;
        for (int open = streams; open > 0; ) {
            seed.stages.serve.Sequence.Event e = events.take();
            if (e instanceof seed.stages.serve.Sequence.Token) {
                made++;
            } else if (e instanceof seed.stages.serve.Sequence.Finished
                    || e instanceof seed.stages.serve.Sequence.Failed) {
                open--;
            }
        }
        return made / ((System.nanoTime() - started) / 1e9);
    }

    /** {@code streams} concurrent streamed completions of {@code tokens} tokens: aggregate tokens/s. */
    private double round(URI url, ExecutorService pool, int streams, int tokens, List<Double> ttft, long[] madeOut)
            throws Exception {
        List<Future<Integer>> futures = new ArrayList<>();
        long started = System.nanoTime();
        for (int i = 0; i < streams; i++) {
            int seed = i;
            futures.add(pool.submit(() -> stream(url, tokens, seed, ttft)));
        }
        long total = 0;
        for (Future<Integer> f : futures) {
            total += f.get();
        }
        madeOut[0] += total;
        return total / ((System.nanoTime() - started) / 1e9);
    }

    /**
     * One streamed completion; records its time to first token; returns the tokens it was told it got. A plain
     * HTTP/1.1 client on a socket (chunked transfer decoded, SSE lines scanned): the JDK's HttpClient spent about
     * twice the server's CPU per streamed chunk (JFR, 8 streams), so on a small machine the benchmark's own client took
     * the cores the server was being measured on.
     */
    private int stream(URI url, int tokens, int seed, List<Double> ttft) throws Exception {
        String body = "{\"prompt\": " + com.fasterxml.jackson.databind.node.TextNode.valueOf(prompt)
                + ", \"max_tokens\": " + tokens + ", \"temperature\": 1.0, \"seed\": " + seed
                + ", \"ignore_eos\": true, \"stream\": true, \"stream_options\": {\"include_usage\": true}}";
        byte[] payload = body.getBytes(StandardCharsets.UTF_8);
        long sent = System.nanoTime();
        try (java.net.Socket socket = new java.net.Socket(url.getHost(), url.getPort())) {
            socket.setTcpNoDelay(true);
            java.io.OutputStream out = socket.getOutputStream();
            out.write(("POST " + url.getPath() + " HTTP/1.1\r\nHost: " + url.getHost() + ":" + url.getPort()
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + payload.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(payload);
            out.flush();
            java.io.BufferedInputStream in = new java.io.BufferedInputStream(socket.getInputStream(), 1 << 16);
            String status = line(in);
            boolean chunked = false;
            for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
                chunked |= h.toLowerCase(java.util.Locale.ROOT).startsWith("transfer-encoding:") && h.contains("chunked");
            }
            if (status == null || !status.contains(" 200 ")) {
                throw new IllegalStateException("HTTP " + status + ": " + new String(in.readAllBytes(),
                        StandardCharsets.UTF_8));
            }
            int made = 0;
            boolean first = true;
            java.io.ByteArrayOutputStream pending = new java.io.ByteArrayOutputStream();
            while (true) {
                byte[] data;
                if (chunked) {
                    String size = line(in);
                    int n = size == null ? 0 : Integer.parseInt(size.split(";")[0].trim(), 16);
                    if (n == 0) {
                        break;
                    }
                    data = in.readNBytes(n);
                    line(in); // the CRLF after the chunk
                } else {
                    data = in.readNBytes(8192);
                    if (data.length == 0) {
                        break;
                    }
                }
                pending.write(data);
                byte[] all = pending.toByteArray();
                int from = 0;
                for (int i = 0; i < all.length; i++) {
                    if (all[i] != '\n') {
                        continue;
                    }
                    if (i - from > 6 && all[from] == 'd' && all[from + 5] == ' ') { // "data: "
                        if (first) {
                            ttft.add((System.nanoTime() - sent) / 1e6);
                            first = false;
                        }
                        String text = new String(all, from, i - from, StandardCharsets.UTF_8);
                        int at = text.indexOf("\"completion_tokens\":");
                        if (at >= 0) {
                            made = Integer.parseInt(text.substring(at + 20).split("[,}]")[0].trim());
                        }
                    }
                    from = i + 1;
                }
                pending.reset();
                pending.write(all, from, all.length - from);
            }
            return made;
        }
    }

    /** One CRLF- (or LF-) terminated line of ASCII, without the terminator; null at the end of the stream. */
    private static String line(java.io.InputStream in) throws java.io.IOException {
        StringBuilder sb = new StringBuilder();
        for (int c = in.read(); c >= 0; c = in.read()) {
            if (c == '\n') {
                int n = sb.length();
                return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
            }
            sb.append((char) c);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    private static double percentile(List<Double> sorted, double q) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
    }
}
