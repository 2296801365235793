package seed.annotation.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import seed.annotation.Annotation;
import seed.annotation.Importer;
import seed.annotation.core.Catalog;
import seed.annotation.core.EventCodec;
import seed.annotation.infra.Infra;
import seed.annotation.ingest.Ingester;
import seed.annotation.snapshot.SnapshotInfo;
import seed.annotation.snapshot.SnapshotScope;
import seed.annotation.snapshot.Snapshots;
import seed.annotation.stats.Agreement;
import seed.annotation.web.AnnotationServer;

/**
 * {@code seed annotate ...}: the operator's commands for the annotation path (serve the page, add annotators, load
 * candidates, ingest, stats, snapshot, export, import). Each is a thin shell over {@link Annotation}.
 */
@Command(name = "annotate", mixinStandardHelpOptions = true,
        description = "Human rankings: web page + API, Kafka -> PostgreSQL ingest, agreement, snapshots, import/export.",
        subcommands = {AnnotateCommand.Serve.class, AnnotateCommand.AddAnnotator.class, AnnotateCommand.Load.class,
                AnnotateCommand.Ingest.class, AnnotateCommand.Stats.class, AnnotateCommand.Snapshot.class,
                AnnotateCommand.Export.class, AnnotateCommand.Import.class})
public final class AnnotateCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Entry point for running the annotate commands in their own JVM (the fault tests fork the ingester this way). */
    public static void main(String[] args) {
        System.exit(new CommandLine(new AnnotateCommand()).execute(args));
    }

    /** Runs a command body, turning bad-input exceptions into a one-line message and exit code 2. */
    abstract static class Base implements Callable<Integer> {
        @Mixin
        InfraOptions infra;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        abstract int body() throws Exception;

        @Override
        public Integer call() throws Exception {
            try {
                return body();
            } catch (IllegalArgumentException | Catalog.LoadException | java.nio.file.NoSuchFileException e) {
                spec.commandLine().getErr().println("seed annotate " + spec.name() + ": " + e.getMessage());
                return 2;
            } catch (IllegalStateException e) {
                spec.commandLine().getErr().println("seed annotate " + spec.name() + ": " + e.getMessage());
                return 1;
            }
        }

        PrintWriter out() {
            return spec.commandLine().getOut();
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = "Serve the annotator page and JSON API, and ingest rankings into PostgreSQL until stopped.")
    static final class Serve extends Base {
        @Option(names = "--host", defaultValue = "127.0.0.1", description = "listen address (default ${DEFAULT-VALUE})")
        String host;

        @Option(names = "--port", defaultValue = "8080", description = "port, 0 = any free one (default ${DEFAULT-VALUE})")
        int port;

        @Option(names = "--no-ingest", description = "do not run the ingester in this process")
        boolean noIngest;

        @Option(names = "--instance-id", description = "static group membership id for the ingester in this process: a"
                + " restarted serve with the same id resumes ingesting at once (never give two running ones the same id)")
        String instanceId;

        @Option(names = "--guidelines", description = "markdown file of annotation guidelines shown on the page")
        Path guidelines;

        @Option(names = "--tls-keystore", description = "PKCS12 keystore: serve HTTPS only (env SEED_TLS_KEYSTORE)",
                defaultValue = "${env:SEED_TLS_KEYSTORE}")
        Path tlsKeystore;

        @Option(names = "--tls-password", description = "keystore password (env SEED_TLS_PASSWORD)",
                defaultValue = "${env:SEED_TLS_PASSWORD}")
        String tlsPassword;

        @Override
        int body() throws Exception {
            if (tlsKeystore != null && !Files.isRegularFile(tlsKeystore)) {
                throw new IllegalArgumentException("no such keystore: " + tlsKeystore);
            }
            if (guidelines != null && !Files.isRegularFile(guidelines)) {
                throw new IllegalArgumentException("no such guidelines file: " + guidelines);
            }
            String guidelinesText = guidelines == null ? null : Files.readString(guidelines);
            // Hold the port while PostgreSQL and Kafka start (~5-20 s), so a taken port is reported at once instead
            // of after all that, and nobody else takes it meanwhile; released just before the server binds it.
            java.net.ServerSocket held = holdPort(host, port);
            Annotation a;
            try {
                a = Annotation.start(infra.config());
            } catch (RuntimeException e) {
                held.close();
                throw e;
            }
            AnnotationServer.Options opts = AnnotationServer.Options.defaults()
                    .withLimits(AnnotationServer.Limits.fromEnv(System.getenv()));
            if (!noIngest) {
                Ingester ing = a.startIngester(Ingester.Options.defaults().withInstanceId(instanceId));
                opts = opts.withIngester(ing::health);
            }
            if (tlsKeystore != null) {
                opts = opts.withTls(tlsKeystore, tlsPassword);
            }
            opts = opts.withGuidelines(guidelinesText);
            AnnotationServer server = new AnnotationServer(a.catalog(), a.submissions(), opts);
            held.close();
            int p = server.start(host, port);
            CountDownLatch stop = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.close();
                a.close();
                stop.countDown();
            }));
            out().println("serving " + (tlsKeystore != null ? "https" : "http") + "://" + host + ":" + p + "/  (kafka "
                    + a.infra().kafkaBootstrap() + ", ingest "
                    + (noIngest ? "off" : "on") + "; Ctrl-C to stop)");
            out().flush();
            stop.await();
            return 0;
        }
    }

    /**
     * Binds the port serve will listen on, or says at once that it cannot (taken, or not an address of this host).
     * Port 0 needs no check.
     */
    static java.net.ServerSocket holdPort(String host, int port) throws java.io.IOException {
        java.net.ServerSocket s = new java.net.ServerSocket();
        if (port == 0) {
            return s;
        }
        try {
            s.setReuseAddress(true);
            s.bind(new java.net.InetSocketAddress(host, port));
            return s;
        } catch (java.io.IOException e) {
            s.close();
            throw new IllegalArgumentException("cannot listen on " + host + ":" + port + " (" + e.getMessage()
                    + "); is another serve running? choose another --port");
        }
    }

    @Command(name = "add-annotator", mixinStandardHelpOptions = true,
            description = "Create an annotator, operator, auditor or importer and print their personal token (shown only this once).")
    static final class AddAnnotator extends Base {
        @Option(names = "--name", required = true)
        String name;

        @Option(names = "--role", defaultValue = "annotator", description = "annotator | operator | auditor | importer (default ${DEFAULT-VALUE})")
        String role;

        @Override
        int body() {
            if (!seed.annotation.core.Annotator.ROLES.contains(role)) {
                throw new IllegalArgumentException("--role must be one of "
                        + String.join(", ", seed.annotation.core.Annotator.ROLES) + ", got " + role);
            }
            try (Annotation a = Annotation.start(infra.config())) {
                Catalog.NewAnnotator n = a.addAnnotator(name, role);
                out().println("annotator_id=" + n.annotator().id());
                out().println("name=" + n.annotator().name());
                out().println("role=" + n.annotator().role());
                out().println("token=" + n.token());
                return 0;
            }
        }
    }

    @Command(name = "load", mixinStandardHelpOptions = true,
            description = "Create annotation items from a candidates JSONL file ({prompt, responses, checkpoint, checkpoint_sha256?, gold?, annotators?}).")
    static final class Load extends Base {
        @Parameters(index = "0", description = "candidates JSONL file")
        Path file;

        @Option(names = "--annotators", defaultValue = "3", description = "annotators per item (default ${DEFAULT-VALUE})")
        int annotators;

        @Override
        int body() throws Exception {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("no such file: " + file);
            }
            if (annotators < 1) {
                throw new IllegalArgumentException("--annotators must be >= 1, got " + annotators);
            }
            // every line checked before any service starts: a bad file answers at once, with the line and the reason
            var candidates = Catalog.parseCandidates(file);
            try (Annotation a = Annotation.start(infra.config())) {
                var r = new Catalog.LoadResult(a.catalog().createItems(candidates, annotators, "candidates"));
                out().println("items=" + r.itemIds().size());
                out().println("first_item_id=" + r.itemIds().get(0));
                out().println("last_item_id=" + r.itemIds().get(r.itemIds().size() - 1));
                return 0;
            }
        }
    }

    @Command(name = "ingest", mixinStandardHelpOptions = true,
            description = "Run the Kafka -> PostgreSQL ingester (until stopped, or --until-caught-up).")
    static final class Ingest extends Base {
        @Option(names = "--threads", defaultValue = "1", description = "consumer threads, each with a DB connection")
        int threads;

        @Option(names = "--group", defaultValue = "seed-ingester", description = "consumer group (default ${DEFAULT-VALUE})")
        String group;

        @Option(names = "--db-connections", defaultValue = "2", description = "DB connections per consumer thread (default ${DEFAULT-VALUE})")
        int dbConnections;

        @Option(names = "--instance-id", description = "static group membership id: a restarted ingester with the same id"
                + " resumes at once (never give two running ingesters the same id)")
        String instanceId;

        @Option(names = "--until-caught-up", description = "exit once everything produced so far is ingested")
        boolean untilCaughtUp;

        @Option(names = "--pause-after-db-commit-ms", defaultValue = "0", hidden = true,
                description = "fault injection: sleep between the DB commit and the offset commit")
        long pause;

        @Override
        int body() throws Exception {
            try (Infra inf = Infra.start(infra.config())) {
                PrintWriter o = out();
                Ingester ing = new Ingester(inf.kafkaBootstrap(), inf.config().kafkaClientProperties(), inf.config().topic(),
                        inf.config().deadLetterTopic(),
                        inf.ingesterDataSource(), Ingester.Options.defaults().withThreads(threads).withGroup(group).withInstanceId(instanceId)
                                .withDbConnections(dbConnections).withPause(pause),
                        new Ingester.BatchListener() {
                            @Override
                            public void committed(int n, int ins, int rej) {
                                synchronized (o) {
                                    o.println("db_committed records=" + n + " inserted=" + ins + " rejected=" + rej);
                                    o.flush();
                                }
                            }

                            @Override
                            public void beforeCommit(int part, int rows) {
                                synchronized (o) {
                                    o.println("db_writing part=" + part + " rows=" + rows);
                                    o.flush();
                                }
                            }
                        }).start();
                try {
                    if (untilCaughtUp) {
                        if (!ing.awaitCaughtUp(Duration.ofMinutes(30))) {
                            throw new IllegalStateException("did not catch up within 30 minutes");
                        }
                        o.println("caught_up records=" + ing.stats().records() + " inserted=" + ing.stats().inserted()
                                + " rejected=" + ing.stats().rejected());
                        return 0;
                    }
                    // run until stopped; exit non-zero when the ingester fails so a supervisor restarts it
                    while (ing.health().state() != Ingester.State.FAILED) {
                        Thread.sleep(200);
                    }
                    spec.commandLine().getErr().println("seed annotate ingest: ingester failed: " + ing.health().lastError());
                    return 1;
                } finally {
                    ing.close();
                }
            }
        }
    }

    @Command(name = "stats", mixinStandardHelpOptions = true,
            description = "Agreement per item (Kendall's W) and per annotator (with others and with gold items).")
    static final class Stats extends Base {
        @Option(names = "--json", description = "print the full report as JSON")
        boolean json;

        @Override
        int body() throws Exception {
            try (Annotation a = Annotation.start(infra.config())) {
                a.ingestUntilCaughtUp(Duration.ofMinutes(10));
                Agreement.Report r = a.stats();
                if (json) {
                    out().println(EventCodec.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r));
                    return 0;
                }
                out().println("rankings=" + r.rankings());
                out().println("skips=" + r.skips());
                out().println("rejected_events=" + r.rejected());
                out().println("items_with_agreement=" + r.itemsWithAgreement());
                out().println("mean_kendall_w=" + fmt(r.meanKendallW()));
                out().printf("%-24s %9s %6s %7s %12s %7s %10s %6s%n", "annotator", "rankings", "skips", "unsafe",
                        "rho_others", "shared", "rho_gold", "gold");
                for (var x : r.annotators()) {
                    out().printf("%-24s %9d %6d %7d %12s %7d %10s %6d%n", x.name(), x.rankings(), x.skips(), x.unsafeFlags(),
                            fmt(x.spearmanWithOthers()), x.sharedItems(), fmt(x.spearmanWithGold()), x.goldItems());
                }
                return 0;
            }
        }

        private static String fmt(Double d) {
            return d == null ? "-" : String.format("%.3f", d);
        }
    }

    @Command(name = "snapshot", mixinStandardHelpOptions = true,
            description = "Ingest everything produced so far, then freeze the accepted rankings of the chosen items"
                    + " (--items) or of every item (--all) into an immutable K-wise JSONL snapshot.")
    static final class Snapshot extends Base {
        @Option(names = "--items", split = ",", paramLabel = "ID|FIRST-LAST", description = "the items whose rankings"
                + " the snapshot holds: ids and ranges, e.g. 12,15,20-31 (a run's items, or a set you choose)")
        java.util.List<String> items;

        @Option(names = "--all", description = "every accepted ranking in the database, whatever run loaded the item")
        boolean all;

        @Option(names = "--min-gold-agreement", description = "admit only annotators whose mean Spearman with gold items"
                + " is at least this (-1..1); annotators without gold rankings are left out too")
        Double minGold;

        @Override
        int body() throws Exception {
            if (minGold != null && (minGold < -1 || minGold > 1)) {
                throw new IllegalArgumentException("--min-gold-agreement must be between -1 and 1, got " + minGold);
            }
            SnapshotScope scope = scope(items, all);
            try (Annotation a = Annotation.start(infra.config())) {
                a.ingestUntilCaughtUp(Duration.ofMinutes(10));
                SnapshotInfo s = minGold == null ? a.snapshot(scope) : a.snapshot(scope, minGold);
                out().println("snapshot_id=" + s.id());
                out().println("scope=" + s.scope());
                out().println("items=" + s.itemIds().size());
                out().println("items_sha256=" + s.itemIdsSha256());
                out().println("path=" + s.path());
                out().println("sha256=" + s.sha256());
                out().println("count=" + s.count());
                out().println("watermark=" + s.watermark());
                return 0;
            }
        }
    }

    /**
     * The snapshot's scope from the command line: exactly one of --items (ids and FIRST-LAST ranges) and --all. A
     * snapshot of everything is never the silent default: on a shared server it mixes runs' rankings.
     */
    static SnapshotScope scope(java.util.List<String> items, boolean all) {
        if (all == (items != null && !items.isEmpty())) {
            throw new IllegalArgumentException("name the rankings to snapshot: --items 12,15,20-31 (a run's items, or"
                    + " a set you choose) or --all (every ranking in the database), not " + (all ? "both" : "neither"));
        }
        if (all) {
            return SnapshotScope.all();
        }
        java.util.Set<Long> ids = new java.util.TreeSet<>();
        for (String part : items) {
            String p = part.trim();
            try {
                int dash = p.indexOf('-', 1);
                long first = Long.parseLong(dash < 0 ? p : p.substring(0, dash));
                long last = dash < 0 ? first : Long.parseLong(p.substring(dash + 1));
                if (last < first || last - first >= 10_000_000) {
                    throw new IllegalArgumentException("--items: range " + p + " is empty or too long");
                }
                for (long id = first; id <= last; id++) {
                    ids.add(id);
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--items: '" + p + "' is neither an item id nor a FIRST-LAST range");
            }
        }
        return SnapshotScope.items(ids);
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = "Export a snapshot as K-wise JSONL (a verified copy) or TRL-style prompt/chosen/rejected pairs.")
    static final class Export extends Base {
        @Option(names = "--snapshot", required = true, description = "snapshot id")
        long id;

        @Option(names = "--format", defaultValue = "pairs", description = "pairs | kwise | trl | trl-conversational |"
                + " trl-aggregated (default ${DEFAULT-VALUE}); trl* carry prompt_id, item_id, annotator_id, event_id columns")
        String format;

        @Option(names = "--out", required = true)
        Path out;

        @Override
        int body() throws Exception {
            try (Annotation a = Annotation.start(infra.config())) {
                SnapshotInfo s = a.snapshots().get(id).orElseThrow(() -> new IllegalArgumentException("no snapshot " + id));
                if (!Snapshots.verify(s)) {
                    throw new IllegalStateException("snapshot " + id + " file " + s.path() + " does not match its recorded SHA-256");
                }
                switch (format) {
                    case "pairs" -> out().println("pairs=" + Snapshots.exportPairs(s.path(), out));
                    case "trl" -> out().println("pairs=" + Snapshots.exportTrl(s.path(), out, Snapshots.TrlFormat.PAIRS));
                    case "trl-conversational" -> out().println("pairs="
                            + Snapshots.exportTrl(s.path(), out, Snapshots.TrlFormat.CONVERSATIONAL));
                    case "trl-aggregated" -> out().println("pairs="
                            + Snapshots.exportTrl(s.path(), out, Snapshots.TrlFormat.AGGREGATED));
                    case "kwise" -> {
                        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
                        Files.copy(s.path(), tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                        Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                        out().println("rankings=" + s.count());
                    }
                    default -> throw new IllegalArgumentException("--format must be pairs, kwise, trl, trl-conversational or"
                            + " trl-aggregated, got " + format);
                }
                out().println("sha256=" + s.sha256());
                return 0;
            }
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = "Send existing preference data through the same Kafka path as human rankings.")
    static final class Import extends Base {
        @Option(names = "--format", required = true, description = "pairs | kwise")
        String format;

        @Parameters(index = "0")
        Path file;

        @Override
        int body() throws Exception {
            Importer.Format f = switch (format) {
                case "pairs" -> Importer.Format.PAIRS;
                case "kwise" -> Importer.Format.KWISE;
                default -> throw new IllegalArgumentException("--format must be pairs or kwise, got " + format);
            };
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("no such file: " + file);
            }
            try (Annotation a = Annotation.start(infra.config())) {
                Importer.Result r = Importer.importFile(a, file, f);
                a.ingestUntilCaughtUp(Duration.ofMinutes(10));
                out().println("lines=" + r.lines());
                out().println("accepted=" + r.accepted());
                return 0;
            }
        }
    }
}
