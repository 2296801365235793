package seed.workflows.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import seed.annotation.Annotation;
import seed.annotation.infra.InfraConfig;
import seed.annotation.ingest.Ingester;
import seed.annotation.web.AnnotationServer;

/**
 * Everything one machine runs for Seed: Kafka and PostgreSQL (in-process and embedded unless SEED_KAFKA_BOOTSTRAP /
 * SEED_JDBC_URL point elsewhere), the ingester that moves rankings from Kafka into PostgreSQL, the annotator web
 * server, and the embedded Kestra engine whose flows reach all of them through {@code {{ globals.* }}}. Started in
 * dependency order (services before Kestra's context), stopped in reverse.
 */
public final class SeedHost implements AutoCloseable {

    /**
     * @param workDir        everything lives under it: Kestra's H2 database, the artifact store, reports, annotation data
     * @param annotationPort port of the annotator web page and API (0 = any free one)
     * @param persistent     Kestra on its H2 file backend (resumable across processes) or in memory
     * @param workerThreads  tasks Kestra runs at once
     * @param runTasks       false for commands that only read runs: the engine then never picks up a task
     */
    public record Options(Path workDir, int annotationPort, boolean persistent, int workerThreads, boolean runTasks) {

        /** A host that runs flows. */
        public Options(Path workDir, int annotationPort, boolean persistent, int workerThreads) {
            this(workDir, annotationPort, persistent, workerThreads, true);
        }
    }

    private final Annotation annotation;
    private final AnnotationServer annotationServer;
    private final SeedEngine engine;
    private final Path workDir;
    private final String annotationUrl;

    private SeedHost(Annotation annotation, AnnotationServer server, String annotationUrl, SeedEngine engine,
            Path workDir) {
        this.annotation = annotation;
        this.annotationServer = server;
        this.annotationUrl = annotationUrl;
        this.engine = engine;
        this.workDir = workDir;
    }

    public static SeedHost start(Options options, Map<String, String> env) throws Exception {
        Path work = options.workDir().toAbsolutePath().normalize();
        Files.createDirectories(work);
        InfraConfig config = InfraConfig.fromEnv(env, work.resolve("annotation"));
        Annotation annotation = Annotation.start(config);
        AnnotationServer server = null;
        try {
            annotation.startIngester(Ingester.Options.defaults());
            // lineage (issue 8): tasks in this JVM record through this host's own services
            seed.workflows.lineage.Lineage.setLocal(seed.workflows.lineage.Lineage.open(annotation.infra()));
            // request budgets from the same environment as the services (defaults unless SEED_*_PER_* are set)
            server = new AnnotationServer(annotation.catalog(), annotation.submissions(),
                    AnnotationServer.Options.defaults().withLimits(AnnotationServer.Limits.fromEnv(env)));
            int port = server.start("127.0.0.1", options.annotationPort());
            String url = "http://127.0.0.1:" + port;
            InfraConfig shared = annotation.infra().sharedConfig();
            Map<String, Object> globals = new LinkedHashMap<>();
            globals.put("work", work.toString());
            globals.put("store", work.resolve("store").toString());
            globals.put("reports", work.resolve("reports").toString());
            globals.put("annotation.url", url);
            globals.put("annotation.data", shared.dataDir().toString());
            globals.put("jdbc.url", shared.jdbcUrl());
            globals.put("jdbc.user", shared.jdbcUser() == null ? "" : shared.jdbcUser());
            globals.put("jdbc.password", shared.jdbcPassword() == null ? "" : shared.jdbcPassword());
            globals.put("kafka.bootstrap", shared.kafkaBootstrap());
            SeedEngine engine = SeedEngine.start(new SeedEngine.Config(work, globals, options.persistent(),
                    options.workerThreads(), options.runTasks()));
            SeedHost host = new SeedHost(annotation, server, url, engine, work);
            // issue 18: flow and subflow executions as OpenLineage runs, so task runs' parents and root exist
            host.executionEvents = seed.workflows.lineage.ExecutionEvents.watch(engine, java.time.Duration.ofSeconds(2));
            return host;
        } catch (Exception | Error e) {
            if (server != null) {
                server.close();
            }
            annotation.close();
            throw e;
        }
    }

    public SeedEngine engine() {
        return engine;
    }

    public Annotation annotation() {
        return annotation;
    }

    public String annotationUrl() {
        return annotationUrl;
    }

    public Path workDir() {
        return workDir;
    }

    private seed.workflows.lineage.ExecutionEvents executionEvents;

    @Override
    public void close() {
        if (executionEvents != null) {
            executionEvents.close();
        }
        engine.close();
        // lineage (issue 8): the tasks' shared recorder writes to these services; close it before they stop
        seed.workflows.lineage.Lineage.closeShared(annotation.infra().sharedConfig().jdbcUrl());
        seed.workflows.lineage.Lineage.local().ifPresent(seed.workflows.lineage.Lineage::close);
        seed.workflows.lineage.Lineage.setLocal(null);
        annotationServer.close();
        annotation.close();
    }
}
