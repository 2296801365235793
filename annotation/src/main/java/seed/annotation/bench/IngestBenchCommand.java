package seed.annotation.bench;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import seed.annotation.Annotation;
import seed.annotation.cli.InfraOptions;
import seed.annotation.core.Annotator;
import seed.annotation.core.EventCodec;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.RankingProducer;
import seed.annotation.infra.Infra;
import seed.annotation.infra.InfraConfig;
import seed.annotation.ingest.Ingester;

/**
 * {@code seed bench ingest}: rankings per second from the first produce to the last row durable in PostgreSQL
 * (acks=all idempotent producer, read_committed consumer group, COPY + INSERT ... ON CONFLICT, fsync on), once per
 * partition count, after unreported warm-up runs, one per partition count (a cold JVM spends seconds of CPU compiling
 * the decoder, the Kafka clients and the broker; the JIT's CPU is printed apart, as jit_threads).
 * Prints name=value lines.
 */
@Command(name = "ingest", mixinStandardHelpOptions = true,
        description = "Kafka -> PostgreSQL ingest throughput (first produce to last row durable).")
public final class IngestBenchCommand implements Callable<Integer> {

    @Mixin
    InfraOptions infra;

    @Option(names = "--events", defaultValue = "200000", description = "rankings per run (default ${DEFAULT-VALUE})")
    int events;

    @Option(names = "--partitions", split = ",", defaultValue = "1,4", description = "partition counts to run (default ${DEFAULT-VALUE})")
    List<Integer> partitions;

    @Option(names = "--k", defaultValue = "4", description = "responses per item (default ${DEFAULT-VALUE})")
    int k;

    @Option(names = "--batch", defaultValue = "10000", description = "max records per DB transaction (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--warmup-events", defaultValue = "50000",
            description = "events of the unreported runs (one per partition count) that warm up the JIT, broker and database"
                    + " (default ${DEFAULT-VALUE}; 0 = none)")
    int warmupEvents;

    @Option(names = "--db-connections", defaultValue = "2", description = "DB connections per consumer (default ${DEFAULT-VALUE})")
    int dbConnections;

    @Option(names = "--prefill", description = "produce every ranking before the ingester starts, and time from its start"
            + " to the last row durable: the ingester alone, without the producer and broker competing for the CPU")
    boolean prefill;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(new CommandLine(new IngestBenchCommand()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        double best = 0;
        boolean dataDirGiven = spec.commandLine().getParseResult().matchedOption("--data-dir") != null;
        try (BenchSetup.Workspace workspace = BenchSetup.workspace(infra.config(), dataDirGiven, "ingest");
                Annotation a = Annotation.start(workspace.config())) {
            out.println("bench=ingest events=" + events + " k=" + k + " db_connections_per_consumer=" + dbConnections + " cores=" + Runtime.getRuntime().availableProcessors());
            out.printf("heap_max_mb=%d%nbatch=%d%nkafka=%s%npostgres=%s%nproducer=same-jvm%nclock=%s%n", Runtime.getRuntime().maxMemory() >> 20,
                    batch, workspace.config().kafkaBootstrap() == null ? "embedded" : "external",
                    workspace.config().jdbcUrl() == null ? "embedded" : "external",
                    prefill ? "ingester-start (topic prefilled)" : "first-produce");
            if (warmupEvents > 0) {
                // one warm-up per partition count: each count runs other code (workers, fetch sizes, broker paths),
                // and C2 compiling it inside a measured run showed as seconds of CPU no ingest thread spent
                int measured = events;
                events = warmupEvents;
                for (int p : partitions) {
                    double w = run(a, p, out, "warmup_");
                    out.printf("warmup_rankings_per_s_partitions_%d=%.0f%n", p, w);
                }
                events = measured;
            }
            for (int p : partitions) {
                double rate = run(a, p, out, "");
                out.printf("rankings_per_s_partitions_%d=%.0f%n", p, rate);
                out.flush();
                best = Math.max(best, rate);
            }
            out.printf("limit_postgres_copy_rows_per_s=%.0f%n", copyCeiling(a));
        }
        out.printf("rankings_per_s=%.0f%n", best);
        return 0;
    }

    /** Item ids of the last measured run: its stored rows are what the COPY ceiling copies. */
    private BenchSetup.Items lastItems;

    /**
     * The ceiling printed beside the result: PostgreSQL's own COPY of the same rows (the last run's stored
     * ranking_events rows, read out before the clock starts), in the same batch size with a commit (fsync) each, into a
     * table with ranking_events' columns, indexes and CHECKs, on the same machine in the same run. No Kafka, no
     * decoding, no checks of claims: what the database alone can take.
     */
    private double copyCeiling(Annotation a) throws Exception {
        String table = "bench_copy_ceiling_" + System.nanoTime();
        try (java.sql.Connection c = a.infra().ownerDataSource().getConnection()) {
            try (java.sql.Statement st = c.createStatement()) {
                st.execute("CREATE TABLE " + table + " (LIKE ranking_events INCLUDING DEFAULTS INCLUDING INDEXES"
                        + " INCLUDING CONSTRAINTS)");
            }
            var copy = c.unwrap(org.postgresql.PGConnection.class).getCopyAPI();
            java.io.ByteArrayOutputStream stored = new java.io.ByteArrayOutputStream();
            long rowsOut = copy.copyOut("COPY (SELECT * FROM ranking_events WHERE item_id BETWEEN " + lastItems.first()
                    + " AND " + lastItems.last() + ") TO STDOUT", stored);
            if (rowsOut != events) {
                throw new IllegalStateException("the last run stored " + rowsOut + " rows, expected " + events);
            }
            byte[] all = stored.toByteArray();
            List<byte[]> batches = new ArrayList<>();
            for (int from = 0, rows = 0, i = 0; i < all.length; i++) {
                if (all[i] == '\n' && (++rows % batch == 0 || i == all.length - 1)) {
                    batches.add(java.util.Arrays.copyOfRange(all, from, i + 1));
                    from = i + 1;
                }
            }
            c.setAutoCommit(false);
            CpuMeter cpu = new CpuMeter(a.infra().ownerDataSource());
            CpuMeter.Sample before = cpu.sample();
            long t0 = System.nanoTime();
            for (byte[] rows : batches) {
                copy.copyIn("COPY " + table + " FROM STDIN", new java.io.ByteArrayInputStream(rows));
                c.commit();
            }
            double rate = events / ((System.nanoTime() - t0) / 1e9);
            CpuMeter.Sample after = cpu.sample();
            long pgMs = 0;
            for (var e : after.postgresMillis().entrySet()) {
                pgMs += e.getValue() - before.postgresMillis().getOrDefault(e.getKey(), 0L);
            }
            if (!after.postgresMillis().isEmpty()) {
                spec.commandLine().getOut().printf("limit_postgres_copy_cpu_us_per_row=%.1f%n", pgMs * 1e3 / events);
            }
            c.setAutoCommit(true);
            try (java.sql.Statement st = c.createStatement()) {
                st.execute("DROP TABLE " + table);
            }
            return rate;
        }
    }

    private double run(Annotation a, int p, PrintWriter out, String label) throws Exception {
        String topic = "bench.rankings.p" + p + "." + System.currentTimeMillis();
        InfraConfig tc = a.infra().config().withTopic(topic).withPartitions(p);
        Infra.createTopics(a.infra().kafkaBootstrap(), tc);
        List<Long> anns = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Annotator ann = a.addAnnotator("bench-" + UUID.randomUUID(), "annotator").annotator();
            anns.add(ann.id());
        }
        BenchSetup.Items items = BenchSetup.items(a.catalog(), a.infra().dataSource(), events, k, anns);
        lastItems = items;
        // encode before the clock starts: the benchmark measures Kafka + ingest, not JSON building
        Encoded enc = encode(items, anns);
        List<byte[]> values = enc.values();
        List<String> keys = enc.keys();
        // the claims the API would have made (the ingester stores only an assignment's claimed event)
        BenchSetup.claim(a.infra().dataSource(), enc.itemIds(), enc.annIds(), enc.eventIds());
        seed.annotation.core.Signing signing = seed.annotation.core.Signing.load(a.infra().dataSource());
        awaitJitQuiet();
        Ingester.Options opts = new Ingester.Options(Math.min(p, 4), batch, 0, "bench-" + topic, null, dbConnections);
        long t0;
        long producedAt;
        CpuMeter cpu = new CpuMeter(a.infra().ownerDataSource());
        // the API's producer settings (no compression); -Dseed.bench.compression=lz4 (or another codec) to compare
        String codec = System.getProperty("seed.bench.compression");
        try (RankingProducer prod = new RankingProducer(a.infra().kafkaBootstrap(), topic,
                     codec == null ? java.util.Map.of() : java.util.Map.of("compression.type", codec), signing)) {
            if (prefill) {
                long p0 = System.nanoTime();
                produce(prod, keys, values);
                out.printf("%sprefill_produce_per_s=%.0f%n", label, events / ((System.nanoTime() - p0) / 1e9));
            }
            try (Ingester ing = new Ingester(a.infra().kafkaBootstrap(), topic, tc.deadLetterTopic(),
                    a.infra().ingesterDataSource(), opts, null).start()) {
            CpuMeter.Sample before = cpu.sample();
            t0 = System.nanoTime();
            if (Boolean.getBoolean("seed.ingest.trace")) {
                System.err.println("t=" + System.currentTimeMillis() % 100000 + " first produce");
            }
            if (!prefill) {
                produce(prod, keys, values);
            }
            producedAt = System.nanoTime();
            long lastPrint = System.nanoTime();
            while (ing.stats().inserted() + ing.stats().rejected() < events) {
                if (ing.failure() != null) {
                    throw new IllegalStateException("ingester failed", ing.failure());
                }
                Thread.sleep(2);
                if (System.nanoTime() - lastPrint > 2_000_000_000L) {
                    lastPrint = System.nanoTime();
                    double s = (lastPrint - t0) / 1e9;
                    long done = ing.stats().inserted();
                    double rate = done / s;
                    System.err.printf("ingest p=%d: %d/%d rows, %.0f/s, eta %.0f s%n", p, done, events, rate,
                            rate > 0 ? (events - done) / rate : Double.NaN);
                }
            }
            long t1 = System.nanoTime();
            if (ing.stats().rejected() > 0) {
                throw new IllegalStateException(ing.stats().rejected() + " benchmark records were rejected");
            }
            double secs = (t1 - t0) / 1e9;
            out.printf("%spartitions=%d seconds=%.2f produce_per_s=%s batches=%d%n", label, p, secs,
                    prefill ? "before-clock" : String.format("%.0f", events / ((producedAt - t0) / 1e9)),
                    ing.stats().batches());
            CpuMeter.print(out, label + "partitions_" + p + "_", before, cpu.sample(), events);
            return events / secs;
            }
        }
    }

    /**
     * Waits (at most 20 s) until the JIT compiler threads have used less than 20 ms of CPU in the last 500 ms: the
     * encoding above runs hot code that C2 compiles in the background (one such compile took 1.3 s of CPU), and that
     * would otherwise be counted in the measured run's jit_threads. Where /proc is not there, it waits 2 s.
     */
    private static void awaitJitQuiet() throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        long last = CpuMeter.jvmInternal().getOrDefault("jit_threads", -1L);
        if (last < 0) {
            Thread.sleep(2000);
            return;
        }
        while (System.nanoTime() < deadline) {
            Thread.sleep(500);
            long now = CpuMeter.jvmInternal().getOrDefault("jit_threads", 0L);
            if (now - last < 20_000_000L) {
                return;
            }
            last = now;
        }
    }

    /** The run's records, encoded before the clock, and what the claims need. */
    private record Encoded(List<byte[]> values, List<String> keys, UUID[] eventIds, long[] itemIds, long[] annIds) {
    }

    /**
     * Encodes one ranking per item. Its own method, so the loop is compiled here and run() stays small: C2 compiling
     * a run() that held this loop took ~1 s of CPU inside the next measured run.
     */
    private Encoded encode(BenchSetup.Items items, List<Long> anns) {
        List<byte[]> values = new ArrayList<>(events);
        List<String> keys = new ArrayList<>(events);
        Instant now = Instant.now();
        UUID[] eventIds = new UUID[events];
        long[] itemIds = new long[events];
        long[] annIds = new long[events];
        for (int i = 0; i < events; i++) {
            long item = items.first() + i;
            long ann = anns.get(i % anns.size());
            List<Integer> order = new ArrayList<>(k);
            for (int j = 0; j < k; j++) {
                order.add((i + j) % k);
            }
            eventIds[i] = seed.annotation.core.EventIds.next();
            itemIds[i] = item;
            annIds[i] = ann;
            values.add(EventCodec.encode(new RankingEvent(eventIds[i], item, ann, order, List.of(), false, List.of(),
                    "bench", now)));
            keys.add(Long.toString(item));
        }
        return new Encoded(values, keys, eventIds, itemIds, annIds);
    }

    private static void produce(RankingProducer prod, List<String> keys, List<byte[]> values) throws Exception {
        List<CompletableFuture<?>> fs = new ArrayList<>(values.size());
        for (int i = 0; i < values.size(); i++) {
            fs.add(prod.sendSigned(keys.get(i), values.get(i), seed.annotation.core.Signing.API_KEY));
        }
        prod.flush();
        for (CompletableFuture<?> f : fs) {
            f.get(120, TimeUnit.SECONDS);
        }
    }
}
