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

    @Option(names = "--warmup-seconds", defaultValue = "5", description = "unmeasured warm-up at the same rate (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--clients", defaultValue = "64", description = "max concurrent requests in flight (default ${DEFAULT-VALUE})")
    int clients;

    @Option(names = "--annotators", defaultValue = "50", description = "distinct annotators (default ${DEFAULT-VALUE})")
    int annotators;

    @Option(names = "--client-heap", defaultValue = "512m",
            description = "max heap of the load generator's JVM (-Xmx; default ${DEFAULT-VALUE})")
    String clientHeap;

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
            try (AnnotationServer server = new AnnotationServer(a.catalog(), a.submissions(), serverOpts)) {
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
                out.flush();
                java.nio.file.Path plan = java.nio.file.Files.createTempFile("seed-bench-submit-", ".json");
                try {
                    var json = seed.annotation.core.EventCodec.JSON.createObjectNode();
                    json.put("uri", "http://127.0.0.1:" + port + "/api/submissions");
                    json.put("first_item", items.first());
                    tokens.forEach(json.putArray("tokens")::add);
                    java.nio.file.Files.writeString(plan, json.toString());
                    int code = runClient(plan, out);
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
    private int runClient(java.nio.file.Path plan, PrintWriter out) throws Exception {
        List<String> cmd = List.of(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + clientHeap, "-cp", System.getProperty("java.class.path"), SubmitBenchCommand.class.getName(),
                "--client-plan", plan.toString(), "--rate", Integer.toString(rate), "--seconds", Integer.toString(seconds),
                "--warmup-seconds", Integer.toString(warmup), "--clients", Integer.toString(clients),
                "--annotators", Integer.toString(annotators));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                java.nio.charset.StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                out.println(line);
                out.flush();
            }
        }
        int code = p.waitFor();
        out.printf("client_exit=%d%n", code);
        return code;
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
        out.printf("client_jvm=separate pid=%d%nclient_cores=%d%nclient_heap_max_mb=%d%nclient_http_threads=4%n",
                ProcessHandle.current().pid(), Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20);
        out.flush();
        ExecutorService exec = Executors.newFixedThreadPool(4);
        try {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(exec)
                    .connectTimeout(Duration.ofSeconds(10)).build();
            AtomicInteger errors = new AtomicInteger();
            // warm-up (JIT, connections, broker) at the target rate, then let every warm-up request finish so the
            // measured phase starts with empty queues
            phase(http, uri, tokens, firstItem, 0, rate * warmup, errors, "warmup");
            long[] measured = phase(http, uri, tokens, firstItem, rate * warmup, rate * seconds, errors, "measure");
            Arrays.sort(measured);
            out.printf("submit_rate_target_per_s=%d%n", rate);
            out.printf("submit_rate_achieved_per_s=%.0f%n", lastAchieved);
            out.printf("submit_count=%d%n", measured.length);
            out.printf("submit_errors=%d%n", errors.get());
            out.printf("submit_p50_ms=%.2f%n", pct(measured, 0.50));
            out.printf("submit_p90_ms=%.2f%n", pct(measured, 0.90));
            out.printf("submit_p99_ms=%.2f%n", pct(measured, 0.99));
            out.printf("submit_max_ms=%.2f%n", measured[measured.length - 1] / 1e6);
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
                         AtomicInteger errors, String name) throws Exception {
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
            long item = firstItem + n;
            int ann = n % annotators;
            String body = "{\"item_id\": " + item + ", \"ranking\": [" + (n % 4) + "," + ((n + 1) % 4) + ","
                    + ((n + 2) % 4) + "," + ((n + 3) % 4) + "]}";
            HttpRequest req = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
                    .header("Authorization", "Bearer " + tokens.get(ann))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            final int idx = i;
            fs.add(http.sendAsync(req, HttpResponse.BodyHandlers.ofString()).whenComplete((r, ex) -> {
                latNs[idx] = System.nanoTime() - scheduled;
                if (ex != null || r.statusCode() != 202) {
                    if (errors.incrementAndGet() <= 3) {
                        System.err.println("submit error: " + (ex != null ? ex : r.statusCode() + " " + r.body()));
                    }
                }
                inFlight.release();
            }));
            if (System.nanoTime() - lastPrint > 2_000_000_000L) {
                lastPrint = System.nanoTime();
                double el = (lastPrint - start) / 1e9;
                System.err.printf("submit %s: %d/%d sent, %.0f/s, eta %.0f s%n", name, i + 1, count, (i + 1) / el,
                        (count - i - 1) / (double) rate);
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
