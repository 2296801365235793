package seed.annotation.bench;

import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import seed.annotation.Annotation;
import seed.annotation.cli.InfraOptions;
import seed.annotation.core.Catalog;
import seed.annotation.ingest.Ingester;
import seed.annotation.web.AnnotationServer;

/**
 * {@code seed bench submit}: drives {@code POST /api/submissions} over real HTTP at a fixed open-loop rate from
 * concurrent clients (the ingester running alongside) and prints latency percentiles. Latency is measured from each
 * request's scheduled send time, so a stalled server cannot hide its queueing (no coordinated omission).
 *
 * <p>The load generator runs in its own JVM (this class in client mode, {@code --client-plan}, started with the same
 * classpath), so its threads, allocation and GC do not share the server JVM's heap and safepoints; the server process
 * prints the limits beside the figures (cores, heaps, clients, the server's configuration) as {@code name=value}
 * lines.
 */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = "HTTP submit latency at a fixed rate (p50/p99, from scheduled send to 202 after the Kafka ack).")
public final class SubmitBenchCommand implements Callable<Integer> {

    @Mixin
    InfraOptions infra;

    @Option(names = "--rate", defaultValue = "1000", description = "submissions per second (default ${DEFAULT-VALUE})")
    int rate;

    @Option(names = "--seconds", defaultValue = "15", description = "measured duration (default ${DEFAULT-VALUE})")
    int seconds;

    /**
     * The server JVM holds Jetty, Javalin, pgjdbc, Kafka's producer and a whole Kafka broker; the JIT compiles their
     * request paths as each method's invocation count crosses C2's thresholds, so code run once a request compiles
     * within seconds but code run once a produce request or once a poll keeps the compilers busy for a minute: after
     * a 5 s warm-up the compiler threads still used ~0.6 of the 2 cores in the measured phase (half the server's CPU,
     * issue 19), and competed with the requests for them. Measure the server in service, not its first minute.
     */
    @Option(names = "--warmup-seconds", defaultValue = "60", description = "unmeasured warm-up at the same rate, long enough"
            + " for the JIT to finish compiling the request path (default ${DEFAULT-VALUE}; cpu_ms_per_submit_server_jit"
            + " shows what it still used in the measured phase)")
    int warmup;

    @Option(names = "--clients", defaultValue = "64", description = "max concurrent requests in flight (default ${DEFAULT-VALUE})")
    int clients;

    @Option(names = "--annotators", defaultValue = "50", description = "distinct annotators (default ${DEFAULT-VALUE})")
    int annotators;

    @Option(names = "--client-heap", defaultValue = "512m",
            description = "max heap of the load generator's JVM (-Xmx; default ${DEFAULT-VALUE})")
    String clientHeap;

    /** The load generator's HTTP client: lean blocking sockets, or the JDK's HttpClient (for comparison). */
    enum ClientHttp { socket, jdk }

    @Option(names = "--client-http", defaultValue = "socket",
            description = "load generator's HTTP client: socket (one keep-alive connection per client thread, TCP_NODELAY)"
                    + " or jdk (java.net.http.HttpClient, 4 threads) (default ${DEFAULT-VALUE})")
    ClientHttp clientHttp;

    @Option(names = "--client-plan", hidden = true,
            description = "client mode: run only the load generator against the server the plan file names")
    java.nio.file.Path clientPlan;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(new CommandLine(new SubmitBenchCommand()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (clientPlan != null) {
            return client();
        }
        PrintWriter out = spec.commandLine().getOut();
        int total = rate * (seconds + warmup);
        boolean dataDirGiven = spec.commandLine().getParseResult().matchedOption("--data-dir") != null;
        try (BenchSetup.Workspace workspace = BenchSetup.workspace(infra.config(), dataDirGiven, "submit");
                Annotation a = Annotation.start(workspace.config())) {
            Ingester ingester = a.startIngester(Ingester.Options.defaults());
            List<String> tokens = new ArrayList<>();
            List<Long> ids = new ArrayList<>();
            for (int i = 0; i < annotators; i++) {
                Catalog.NewAnnotator n = a.addAnnotator("bench-submit-" + UUID.randomUUID(), "annotator");
                tokens.add(n.token());
                ids.add(n.annotator().id());
            }
            BenchSetup.Items items = BenchSetup.items(a.catalog(), a.infra().dataSource(), total, 4, ids);
            // the real server with its real checks, minus the per-address budget (one load generator sends it all)
            AnnotationServer.Options serverOpts = AnnotationServer.Options.defaults()
                    .withLimits(AnnotationServer.Limits.unlimited()).withIngester(ingester::health);
            try (AnnotationServer server = new AnnotationServer(a.catalog(), a.submissions(), serverOpts);
                 GcPauses gc = new GcPauses()) {
                int port = server.start("127.0.0.1", 0);
                out.println("bench=submit rate=" + rate + " seconds=" + seconds + " warmup_seconds=" + warmup
                        + " clients=" + clients + " annotators=" + annotators);
                // the limits beside the figures: what the server had and how it was configured
                out.printf("clients=%d%nannotators=%d%nserver_cores=%d%nserver_heap_max_mb=%d%nserver_http=javalin-jetty11-loopback%n"
                                + "server_limits=unlimited%nserver_ingester_threads=%d%nserver_ingester_db_connections=%d%n"
                                + "server_kafka=%s%nserver_postgres=%s%n", clients, annotators,
                        Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20,
                        Ingester.Options.defaults().threads(), Ingester.Options.defaults().dbConnections(),
                        workspace.config().kafkaBootstrap() == null ? "embedded-in-server-jvm" : "external",
                        workspace.config().jdbcUrl() == null ? "embedded-own-process" : "external");
                out.printf("server_jvm_flags=%s%nclient_http=%s%n", jvmFlags(), clientHttp);
                out.flush();
                java.nio.file.Path plan = java.nio.file.Files.createTempFile("seed-bench-submit-", ".json");
                try {
                    var json = seed.annotation.core.EventCodec.JSON.createObjectNode();
                    json.put("uri", "http://127.0.0.1:" + port + "/api/submissions");
                    json.put("first_item", items.first());
                    tokens.forEach(json.putArray("tokens")::add);
                    java.nio.file.Files.writeString(plan, json.toString());
                    long postmaster = workspace.config().jdbcUrl() == null
                            ? ProcessCpu.postmaster(workspace.config().dataDir().resolve("postgres")) : -1;
                    Measured m = new Measured(a.submissions().phases(), gc, postmaster);
                    int code = runClient(plan, out, m);
                    m.print(out, rate * seconds);
                    limits(a, out);
                    return code;
                } finally {
                    java.nio.file.Files.deleteIfExists(plan);
                }
            }
        }
    }

    /**
     * Starts the load generator as a separate {@code java} process with this JVM's classpath, relays its
     * {@code name=value} lines (its progress goes to stderr as it is), and returns its exit code.
     */
    private int runClient(java.nio.file.Path plan, PrintWriter out, Measured m) throws Exception {
        List<String> cmd = List.of(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + clientHeap, "-cp", System.getProperty("java.class.path"), SubmitBenchCommand.class.getName(),
                "--client-plan", plan.toString(), "--rate", Integer.toString(rate), "--seconds", Integer.toString(seconds),
                "--warmup-seconds", Integer.toString(warmup), "--clients", Integer.toString(clients),
                "--annotators", Integer.toString(annotators), "--client-http", clientHttp.name());
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                java.nio.charset.StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                if (line.equals(MEASURE_START)) {
                    m.start();
                } else if (line.equals(MEASURE_END)) {
                    m.end();
                } else {
                    out.println(line);
                    out.flush();
                }
            }
        }
        int code = p.waitFor();
        out.printf("client_exit=%d%n", code);
        return code;
    }

    /** Lines the load generator prints around its measured phase; the server resets its timings at the first. */
    static final String MEASURE_START = "bench_measure_start";
    static final String MEASURE_END = "bench_measure_end";

    /**
     * The server's side of the measured phase: its per-phase timings and GC pauses (reset when the load generator
     * starts measuring) and the CPU the server JVM and PostgreSQL used meanwhile.
     */
    private static final class Measured {
        private final seed.annotation.core.SubmitPhases phases;
        private final GcPauses gc;
        private final long postmaster;
        private double serverCpu0;
        private double serverCpu1 = -1;
        private double pgCpu0;
        private double pgCpu1 = -1;
        private long t0;
        private long t1;
        private java.util.Map<String, Double> groups0 = java.util.Map.of();
        private java.util.Map<String, Double> groups1 = java.util.Map.of();

        Measured(seed.annotation.core.SubmitPhases phases, GcPauses gc, long postmaster) {
            this.phases = phases;
            this.gc = gc;
            this.postmaster = postmaster;
        }

        void start() {
            phases.reset();
            gc.reset();
            t0 = System.nanoTime();
            serverCpu0 = ProcessCpu.ms(ProcessHandle.current().pid());
            groups0 = ProcessCpu.byThreadGroup(ProcessHandle.current().pid());
            pgCpu0 = postmaster > 0 ? ProcessCpu.treeMs(postmaster) : -1;
        }

        void end() {
            t1 = System.nanoTime();
            serverCpu1 = ProcessCpu.ms(ProcessHandle.current().pid());
            groups1 = ProcessCpu.byThreadGroup(ProcessHandle.current().pid());
            pgCpu1 = postmaster > 0 ? ProcessCpu.treeMs(postmaster) : -1;
        }

        /** submit_phase_* (server side), server_gc_*, cpu_ms_per_submit_server / _postgres, cores busy. */
        void print(PrintWriter out, int count) {
            phases.print(out);
            gc.print(out);
            double s = (t1 - t0) / 1e9;
            if (serverCpu1 >= 0 && serverCpu0 >= 0) {
                out.printf(java.util.Locale.ROOT, "cpu_ms_per_submit_server=%.3f%ncpu_cores_server=%.2f%n",
                        (serverCpu1 - serverCpu0) / count, (serverCpu1 - serverCpu0) / 1000 / s);
                // where the server's CPU went, by thread group: the JIT compiling code first reached in the measured
                // phase is not a per-submission cost (a longer --warmup-seconds makes it vanish), so it is shown apart
                double jit = 0;
                for (var g : groups1.entrySet()) {
                    double d = g.getValue() - groups0.getOrDefault(g.getKey(), 0.0);
                    if (g.getKey().equals("jit")) {
                        jit = d;
                    }
                    out.printf(java.util.Locale.ROOT, "cpu_ms_per_submit_server_%s=%.3f%n", g.getKey(), Math.max(0, d) / count);
                }
                out.printf(java.util.Locale.ROOT, "cpu_ms_per_submit_server_without_jit=%.3f%n",
                        (serverCpu1 - serverCpu0 - jit) / count);
            }
            if (pgCpu1 >= 0 && pgCpu0 >= 0) {
                out.printf(java.util.Locale.ROOT, "cpu_ms_per_submit_postgres=%.3f%ncpu_cores_postgres=%.2f%n",
                        (pgCpu1 - pgCpu0) / count, (pgCpu1 - pgCpu0) / 1000 / s);
            }
            out.flush();
        }
    }

    /** The GC and heap flags this JVM was started with (the server's, for the figures' limits). */
    private static String jvmFlags() {
        List<String> f = new ArrayList<>();
        for (String arg : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-XX:") || arg.startsWith("-Xm") || arg.startsWith("-Xs")) {
                f.add(arg);
            }
        }
        return f.isEmpty() ? "none" : String.join(" ", f);
    }

    /** The load generator's own timings: its lag behind the schedule and the way back from the server's handler. */
    private static final class ClientPhases {
        final seed.annotation.core.SubmitPhases.Histogram lag = new seed.annotation.core.SubmitPhases.Histogram();
        final seed.annotation.core.SubmitPhases.Histogram response = new seed.annotation.core.SubmitPhases.Histogram();

        /** Records one answered request's server timestamp (the handler's end), if it carried one. */
        void answered(String doneHeader, long receivedNs) {
            if (doneHeader != null) {
                try {
                    response.record(receivedNs - Long.parseLong(doneHeader.trim()));
                } catch (NumberFormatException e) {
                    // no usable timestamp
                }
            }
        }
    }

    /** Client mode: the open-loop load generator alone, in this (separate) JVM, against the plan's server. */
    private int client() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        var plan = seed.annotation.core.EventCodec.JSON.readTree(java.nio.file.Files.readString(clientPlan));
        URI uri = URI.create(plan.get("uri").asText());
        List<String> tokens = new ArrayList<>();
        plan.get("tokens").forEach(t -> tokens.add(t.asText()));
        if (tokens.size() != annotators) {
            throw new IllegalArgumentException(clientPlan + ": " + tokens.size() + " tokens for --annotators " + annotators);
        }
        long firstItem = plan.get("first_item").asLong();
        out.printf("client_jvm=separate pid=%d%nclient_cores=%d%nclient_heap_max_mb=%d%nclient_http_threads=%d%n",
                ProcessHandle.current().pid(), Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20,
                clientHttp == ClientHttp.jdk ? 4 : clients);
        out.flush();
        ExecutorService exec = Executors.newFixedThreadPool(4);
        try {
            HttpClient http = clientHttp == ClientHttp.jdk ? HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .executor(exec).connectTimeout(Duration.ofSeconds(10)).build() : null;
            AtomicInteger errors = new AtomicInteger();
            // warm-up (JIT, connections, broker) at the target rate, then let every warm-up request finish so the
            // measured phase starts with empty queues
            phase(http, uri, tokens, firstItem, 0, rate * warmup, errors, "warmup", new ClientPhases());
            ClientPhases cp = new ClientPhases();
            out.println(MEASURE_START);
            out.flush();
            long pid = ProcessHandle.current().pid();
            double cpu0 = ProcessCpu.ms(pid);
            long[] measured = phase(http, uri, tokens, firstItem, rate * warmup, rate * seconds, errors, "measure", cp);
            double cpu1 = ProcessCpu.ms(pid);
            out.println(MEASURE_END);
            Arrays.sort(measured);
            out.printf("submit_rate_target_per_s=%d%n", rate);
            out.printf("submit_rate_achieved_per_s=%.0f%n", lastAchieved);
            out.printf("submit_count=%d%n", measured.length);
            out.printf("submit_errors=%d%n", errors.get());
            out.printf("submit_p50_ms=%.2f%n", pct(measured, 0.50));
            out.printf("submit_p90_ms=%.2f%n", pct(measured, 0.90));
            out.printf("submit_p99_ms=%.2f%n", pct(measured, 0.99));
            out.printf("submit_max_ms=%.2f%n", measured[measured.length - 1] / 1e6);
            cp.lag.print(out, "submit_phase_client_lag");
            cp.response.print(out, "submit_phase_response");
            if (cpu0 >= 0 && cpu1 >= 0) {
                out.printf(java.util.Locale.ROOT, "cpu_ms_per_submit_client=%.3f%n", (cpu1 - cpu0) / measured.length);
            }
            out.flush();
            return errors.get() == 0 ? 0 : 1;
        } finally {
            exec.shutdown();
        }
    }

    private double lastAchieved;

    /**
     * Sends {@code count} submissions (items first+offset ..) at the target rate, open loop, at most {@code clients}
     * in flight; returns each one's latency from its scheduled send time, in ns.
     */
    private long[] phase(HttpClient http, URI uri, List<String> tokens, long firstItem, int offset, int count,
                         AtomicInteger errors, String name, ClientPhases cp) throws Exception {
        return http == null ? phaseSockets(uri, tokens, firstItem, offset, count, errors, name, cp)
                : phaseJdk(http, uri, tokens, firstItem, offset, count, errors, name, cp);
    }

    private String body(long firstItem, int n) {
        return "{\"item_id\": " + (firstItem + n) + ", \"ranking\": [" + (n % 4) + "," + ((n + 1) % 4) + ","
                + ((n + 2) % 4) + "," + ((n + 3) % 4) + "]}";
    }

    private static void progress(String name, long start, int sent, int count, int rate) {
        double el = (System.nanoTime() - start) / 1e9;
        System.err.printf("submit %s: %d/%d sent, %.0f/s, eta %.0f s%n", name, sent, count, sent / Math.max(el, 1e-3),
                (count - sent) / (double) rate);
    }

    private static void error(AtomicInteger errors, String what) {
        if (errors.incrementAndGet() <= 3) {
            System.err.println("submit error: " + what);
        }
    }

    private long[] phaseJdk(HttpClient http, URI uri, List<String> tokens, long firstItem, int offset, int count,
                            AtomicInteger errors, String name, ClientPhases cp) throws Exception {
        long[] latNs = new long[count];
        Semaphore inFlight = new Semaphore(clients);
        long interval = 1_000_000_000L / rate;
        long start = System.nanoTime() + 100_000_000L;
        List<CompletableFuture<?>> fs = new ArrayList<>(count);
        long lastPrint = System.nanoTime();
        for (int i = 0; i < count; i++) {
            long scheduled = start + i * interval;
            long wait = scheduled - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            }
            inFlight.acquire();
            int n = offset + i;
            long sent = System.nanoTime();
            cp.lag.record(sent - scheduled);
            HttpRequest req = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
                    .header("Authorization", "Bearer " + tokens.get(n % annotators))
                    .header("Content-Type", "application/json")
                    .header(AnnotationServer.BENCH_SENT_HEADER, Long.toString(sent))
                    .POST(HttpRequest.BodyPublishers.ofString(body(firstItem, n))).build();
            final int idx = i;
            fs.add(http.sendAsync(req, HttpResponse.BodyHandlers.ofString()).whenComplete((r, ex) -> {
                long now = System.nanoTime();
                latNs[idx] = now - scheduled;
                if (ex != null || r.statusCode() != 202) {
                    error(errors, ex != null ? ex.toString() : r.statusCode() + " " + r.body());
                } else {
                    cp.answered(r.headers().firstValue(AnnotationServer.BENCH_DONE_HEADER).orElse(null), now);
                }
                inFlight.release();
            }));
            if (System.nanoTime() - lastPrint > 2_000_000_000L) {
                lastPrint = System.nanoTime();
                progress(name, start, i + 1, count, rate);
            }
        }
        for (CompletableFuture<?> f : fs) {
            try {
                f.get(120, TimeUnit.SECONDS);
            } catch (Exception e) {
                // counted in errors
            }
        }
        lastAchieved = count / ((System.nanoTime() - start) / 1e9);
        return latNs;
    }

    /**
     * The lean load generator: {@code clients} threads, each with one keep-alive connection (TCP_NODELAY), take the
     * next request number, wait for its scheduled time and send it; when every thread is busy the next request goes
     * out late and its latency still counts from its scheduled time (no coordinated omission). Requests and answers
     * are a few hundred bytes of HTTP/1.1 written and read directly, so the generator costs little CPU of the two
     * cores it shares with the server.
     */
    private long[] phaseSockets(URI uri, List<String> tokens, long firstItem, int offset, int count, AtomicInteger errors,
                                String name, ClientPhases cp) throws Exception {
        long[] latNs = new long[count];
        long interval = 1_000_000_000L / rate;
        long start = System.nanoTime() + 100_000_000L;
        AtomicInteger next = new AtomicInteger();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < clients; w++) {
            workers.add(Thread.ofPlatform().name("bench-client-" + w).daemon().start(() -> {
                HttpConnection conn = null;
                for (int i; (i = next.getAndIncrement()) < count; ) {
                    long scheduled = start + i * interval;
                    for (long wait; (wait = scheduled - System.nanoTime()) > 0; ) {
                        LockSupport.parkNanos(wait);
                    }
                    int n = offset + i;
                    long sent = System.nanoTime();
                    cp.lag.record(sent - scheduled);
                    try {
                        if (conn == null) {
                            conn = new HttpConnection(uri);
                        }
                        HttpConnection.Answer r = conn.post(uri.getRawPath(), tokens.get(n % annotators), body(firstItem, n), sent);
                        long now = System.nanoTime();
                        latNs[i] = now - scheduled;
                        if (r.status() != 202) {
                            error(errors, r.status() + " " + r.body());
                        } else {
                            cp.answered(r.doneNs(), now);
                        }
                        if (r.close()) {
                            conn.close();
                            conn = null;
                        }
                    } catch (java.io.IOException | RuntimeException e) {
                        latNs[i] = System.nanoTime() - scheduled;
                        error(errors, e.toString());
                        if (conn != null) {
                            conn.close();
                        }
                        conn = null;
                    }
                }
                if (conn != null) {
                    conn.close();
                }
            }));
        }
        for (Thread t : workers) {
            while (!t.join(Duration.ofSeconds(2))) {
                progress(name, start, Math.min(count, next.get()), count, rate);
            }
        }
        lastAchieved = count / ((System.nanoTime() - start) / 1e9);
        return latNs;
    }

    /**
     * The floors under the HTTP latency, measured in the same run, each 500 times sequentially: the claim alone (an
     * asynchronous commit), a Kafka acks=all round trip alone, and the WAL flush that makes the claim durable (one
     * fsync).
     */
    private void limits(Annotation a, PrintWriter out) throws Exception {
        Catalog.NewAnnotator n = a.addAnnotator("bench-limits-" + UUID.randomUUID(), "annotator");
        BenchSetup.Items items = BenchSetup.items(a.catalog(), a.infra().dataSource(), 500, 4, List.of(n.annotator().id()));
        long[] claim = new long[500];
        long[] ack = new long[500];
        long[] flush = new long[500];
        try (seed.annotation.core.RankingProducer p = new seed.annotation.core.RankingProducer(a.infra().kafkaBootstrap(),
                a.infra().config().topic(), java.util.Map.of(), a.signing());
             seed.annotation.core.WalFlusher flusher = new seed.annotation.core.WalFlusher(a.infra().dataSource())) {
            for (int i = 0; i < 500; i++) {
                UUID id = seed.annotation.core.EventIds.next();
                long t0 = System.nanoTime();
                a.catalog().claim(items.first() + i, n.annotator().id(), id);
                long t1 = System.nanoTime();
                p.send(new seed.annotation.core.RankingEvent(id, items.first() + i, n.annotator().id(), List.of(0, 1, 2, 3),
                        List.of(), false, List.of(), "bench", java.time.Instant.now())).get(60, TimeUnit.SECONDS);
                long t2 = System.nanoTime();
                flusher.flush().get(60, TimeUnit.SECONDS);
                long t3 = System.nanoTime();
                claim[i] = t1 - t0;
                ack[i] = t2 - t1;
                flush[i] = t3 - t2;
                LockSupport.parkNanos(1_000_000);
            }
        }
        Arrays.sort(claim);
        Arrays.sort(ack);
        out.printf("limit_claim_p50_ms=%.2f%nlimit_claim_p99_ms=%.2f%n", pct(claim, 0.5), pct(claim, 0.99));
        out.printf("limit_kafka_ack_p50_ms=%.2f%nlimit_kafka_ack_p99_ms=%.2f%n", pct(ack, 0.5), pct(ack, 0.99));
        Arrays.sort(flush);
        out.printf("limit_wal_flush_p50_ms=%.2f%nlimit_wal_flush_p99_ms=%.2f%n", pct(flush, 0.5), pct(flush, 0.99));
    }

    private static double pct(long[] sorted, double q) {
        int i = (int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
        return sorted[Math.max(0, i)] / 1e6;
    }
}
