package seed.workflows.lineage;

import java.net.URI;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.annotation.infra.Infra;

/**
 * The recorder Kestra tasks call: {@link #started} when a task run starts, {@link #finished} when it ends. Each call
 * appends one hash-chained record signed with the server's Ed25519 key to PostgreSQL, witnesses the new chain head
 * on Kafka topic {@code seed.lineage}, and emits the matching OpenLineage event. It adds the code version and runtime
 * ({@link RuntimeInfo}) itself and, for a record naming a snapshot, who ranked what ({@link SnapshotAnnotations}).
 * Thread-safe (Kestra runs tasks on several worker threads); one instance per JVM is enough.
 *
 * <p>A failure to write the ledger or the witness throws: a task whose lineage cannot be recorded should fail rather
 * than produce an untraceable checkpoint. OpenLineage delivery failures are only logged.
 */
public final class Lineage implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Lineage.class);

    /** The Kafka topic the chain head is witnessed on. */
    public static final String WITNESS_TOPIC = Witness.TOPIC;

    private final LineageStore store;
    private final SigningKey key;
    private final Witness witness;
    private final OpenLineageEmitter openLineage;
    private final RuntimeInfo runtime = RuntimeInfo.current();
    private Runnable onClose;
    private boolean closed;

    private Lineage(LineageStore store, SigningKey key, Witness witness, OpenLineageEmitter openLineage) {
        this.store = store;
        this.key = key;
        this.witness = witness;
        this.openLineage = openLineage;
    }

    /**
     * Opens the recorder: loads (or generates, the first time) the signing key in {@code keyDir}, records its public
     * key in PostgreSQL and on the witness topic, and connects the OpenLineage outputs.
     *
     * @param ds               Seed's PostgreSQL (schema migrated, see {@code seed.migrations.Migrations})
     * @param keyDir           folder of the server's signing key (keep it off the database host)
     * @param kafkaBootstrap   Kafka for the witness topic; empty = no witness (logged: a weaker audit trail)
     * @param openLineageJsonl file to append OpenLineage events to, one JSON per line
     * @param openLineageUrl   OpenLineage HTTP endpoint (e.g. Marquez's http://host:5000), optional
     */
    public static Lineage open(DataSource ds, Path keyDir, Optional<String> kafkaBootstrap,
            Optional<Path> openLineageJsonl, Optional<URI> openLineageUrl) {
        SigningKey key = SigningKey.loadOrCreate(keyDir);
        LineageStore store = new LineageStore(ds);
        store.registerKey(key.keyId(), key.publicKeyBase64());
        Witness witness = null;
        if (kafkaBootstrap.isPresent()) {
            witness = Witness.connect(kafkaBootstrap.get(), WITNESS_TOPIC);
            try {
                witness.key(key.keyId(), key.publicKeyBase64());
            } catch (RuntimeException e) {
                witness.close();
                throw e;
            }
        } else {
            log.warn("lineage: no Kafka configured, the chain head is not witnessed (a database superuser who also"
                    + " holds the signing key could rewrite lineage unnoticed)");
        }
        return new Lineage(store, key, witness, new OpenLineageEmitter(openLineageJsonl, openLineageUrl));
    }

    /**
     * The recorder on Seed's own infrastructure: its PostgreSQL and Kafka, the key in {@link #defaultKeyDir}, the
     * OpenLineage file {@code openlineage.jsonl} in the data dir, and the HTTP endpoint from SEED_OPENLINEAGE_URL.
     */
    public static Lineage open(Infra infra) {
        Path dataDir = infra.config().dataDir();
        String url = System.getenv("SEED_OPENLINEAGE_URL");
        return open(infra.dataSource(), defaultKeyDir(dataDir), Optional.ofNullable(infra.kafkaBootstrap()),
                Optional.of(dataDir.resolve("openlineage.jsonl")),
                url == null || url.isBlank() ? Optional.empty() : Optional.of(URI.create(url)));
    }

    /**
     * Where a recorder in any JVM finds Seed's services: what a Kestra task can render from flow globals
     * ({@code {{ globals['jdbc.url'] }}} ...), on this machine or on a worker elsewhere.
     *
     * @param jdbcUrl          PostgreSQL
     * @param jdbcUser         its user (may be null)
     * @param jdbcPassword     its password (may be null)
     * @param kafkaBootstrap   Kafka for the witness, or null for none
     * @param keyDir           the signing key folder
     * @param openLineageJsonl OpenLineage JSONL file, or null
     * @param openLineageUrl   OpenLineage HTTP endpoint, or null
     */
    public record Config(String jdbcUrl, String jdbcUser, String jdbcPassword, String kafkaBootstrap, Path keyDir,
            Path openLineageJsonl, URI openLineageUrl) {
    }

    private static final Map<Config, Lineage> SHARED = new java.util.HashMap<>();

    /**
     * One recorder per JVM and config, opened on first use with its own small connection pool and closed when the
     * JVM exits: what Kestra tasks call, since Kestra creates task objects itself and cannot hand them a recorder.
     */
    public static synchronized Lineage shared(Config config) {
        Lineage existing = SHARED.get(config);
        if (existing != null && !existing.closed) {
            return existing;
        }
        com.zaxxer.hikari.HikariConfig hc = new com.zaxxer.hikari.HikariConfig();
        hc.setJdbcUrl(config.jdbcUrl());
        hc.setUsername(config.jdbcUser());
        hc.setPassword(config.jdbcPassword());
        hc.setMaximumPoolSize(2);
        hc.setMinimumIdle(0);
        hc.setPoolName("seed-lineage");
        com.zaxxer.hikari.HikariDataSource pool = new com.zaxxer.hikari.HikariDataSource(hc);
        Lineage lineage;
        try {
            lineage = open(pool, config.keyDir(), Optional.ofNullable(config.kafkaBootstrap()),
                    Optional.ofNullable(config.openLineageJsonl()), Optional.ofNullable(config.openLineageUrl()));
        } catch (RuntimeException e) {
            pool.close();
            throw e;
        }
        lineage.onClose = pool::close;
        SHARED.put(config, lineage);
        Runtime.getRuntime().addShutdownHook(new Thread(lineage::close, "seed-lineage-close"));
        return lineage;
    }

    /**
     * Closes the shared recorders of the database at {@code jdbcUrl}: call it when the services they write to stop
     * (e.g. when a host closes its embedded PostgreSQL and Kafka), so no recorder keeps retrying a dead broker.
     */
    public static synchronized void closeShared(String jdbcUrl) {
        SHARED.entrySet().removeIf(e -> {
            if (e.getKey().jdbcUrl().equals(jdbcUrl)) {
                e.getValue().close();
                return true;
            }
            return false;
        });
    }

    private static volatile Lineage local;

    /**
     * Makes {@code lineage} the recorder of every task that runs in this JVM (a host calls it with the recorder of its
     * own services; null clears it). Preferred over the flow's globals: a task resumed after its process was killed
     * still carries the globals of the dead process (e.g. the old embedded PostgreSQL's port).
     */
    public static void setLocal(Lineage lineage) {
        local = lineage;
    }

    /** The recorder set by {@link #setLocal}, if any and still open. */
    public static Optional<Lineage> local() {
        Lineage l = local;
        return l == null || l.closed ? Optional.empty() : Optional.of(l);
    }

    /**
     * Where the signing key of a data folder lives by default: outside it and outside the database's files, in
     * {@code <key root>/<first 16 hex digits of the SHA-256 of the data folder's absolute path>}, the key root being
     * {@code -Dseed.lineage.keyRoot}, else {@code SEED_LINEAGE_KEY_ROOT}, else {@code $XDG_CONFIG_HOME/seed/lineage-keys}
     * ({@code ~/.config/seed/lineage-keys}). Issue 18: a key in the data folder was one {@code pg_read_file} away for
     * the database superuser. A key made earlier in {@code <dataDir>/lineage-keys} is still used (logged once): move it
     * and pin its fingerprint.
     */
    public static Path defaultKeyDir(Path dataDir) {
        Path abs = dataDir.toAbsolutePath().normalize();
        Path legacy = abs.resolve("lineage-keys");
        if (java.nio.file.Files.exists(legacy.resolve(SigningKey.PRIVATE_FILE))) {
            if (LEGACY_WARNED.add(legacy)) {
                log.warn("lineage: the signing key is in the data folder ({}), where the database superuser can read it;"
                        + " move it to {} and pin its fingerprint (seed lineage verify --trusted-key)", legacy,
                        keyRoot().resolve(CanonicalJson.sha256(abs.toString()).substring(0, 16)));
            }
            return legacy;
        }
        return keyRoot().resolve(CanonicalJson.sha256(abs.toString()).substring(0, 16));
    }

    private static final java.util.Set<Path> LEGACY_WARNED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** The folder under which each data folder's key folder lives (see {@link #defaultKeyDir}). */
    static Path keyRoot() {
        String root = System.getProperty("seed.lineage.keyRoot");
        if (root == null || root.isBlank()) {
            root = System.getenv("SEED_LINEAGE_KEY_ROOT");
        }
        if (root != null && !root.isBlank()) {
            return Path.of(root);
        }
        String xdg = System.getenv("XDG_CONFIG_HOME");
        Path config = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config");
        return config.resolve("seed").resolve("lineage-keys");
    }

    /** Records the start of a task run (status must be RUNNING). */
    public LineageRecord started(TaskRunRecord run) {
        if (run.status() != TaskRunRecord.Status.RUNNING) {
            throw new IllegalArgumentException("started(): task run " + run.taskRunId() + " has status " + run.status()
                    + ", expected RUNNING");
        }
        return record(run);
    }

    /** Records the end of a task run (status SUCCESS, FAILED or KILLED) with its outputs and metrics. */
    public LineageRecord finished(TaskRunRecord run) {
        if (run.status() == TaskRunRecord.Status.RUNNING) {
            throw new IllegalArgumentException("finished(): task run " + run.taskRunId() + " is still RUNNING;"
                    + " use TaskRunRecord.finish(status, outputs, metrics)");
        }
        if (run.endedAt() == null) {
            throw new IllegalArgumentException("finished(): task run " + run.taskRunId() + " has no endedAt");
        }
        return record(run);
    }

    /** The stage name of the task run that freezes rankings into a snapshot. */
    static final String SNAPSHOT_STAGE = "snapshot";
    /** The stage name of the task run that turns a candidates file into annotation items. */
    static final String LOAD_STAGE = "load-items";

    /**
     * A snapshot's inputs: its own, plus the item manifests of every recorded load whose items the snapshot's
     * rankings cover (or, for a load recorded before loads wrote a manifest, the candidates file it read). This is the
     * edge candidates -> items -> snapshot: the rankings people made are on those items.
     */
    private List<ArtifactRef> itemInputs(List<ArtifactRef> own, java.util.Set<Long> itemIds) {
        List<ArtifactRef> out = new java.util.ArrayList<>(own);
        java.util.Set<String> seen = new java.util.HashSet<>();
        own.forEach(a -> seen.add(a.sha256()));
        for (LineageRecord r : store.completed(LOAD_STAGE)) {
            TaskRunRecord load = r.run();
            Object ids = load.metrics().get("item_ids");
            if (!(ids instanceof List<?> list) || list.stream().noneMatch(
                    id -> id instanceof Number n && itemIds.contains(n.longValue()))) {
                continue;
            }
            List<ArtifactRef> items = load.outputs().stream().filter(a -> a.name().equals("items")).toList();
            for (ArtifactRef a : items.isEmpty() ? load.inputs() : items) {
                if (seen.add(a.sha256())) {
                    out.add(a);
                }
            }
        }
        return out;
    }

    private synchronized LineageRecord record(TaskRunRecord given) {
        TaskRunRecord run = given;
        if (closed) {
            throw new IllegalStateException("lineage recorder is closed: cannot record task run " + run.taskRunId());
        }
        LineageRecord.Event event = LineageRecord.Event.of(run.status());
        Map<String, Object> annotations = null;
        if (run.snapshotId() != null && event != LineageRecord.Event.START) {
            SnapshotAnnotations snapshot = SnapshotAnnotations.read(store.dataSource(), given.snapshotId())
                    .orElseThrow(() -> new IllegalArgumentException("task run " + given.taskRunId() + " names snapshot "
                            + given.snapshotId() + ", which does not exist in preference_snapshots"));
            annotations = snapshot.toMap();
            if (event == LineageRecord.Event.COMPLETE && SNAPSHOT_STAGE.equals(run.stage())) {
                run = run.withInputs(itemInputs(run.inputs(), snapshot.itemIds()));
            }
        }
        Map<String, Object> snapshotPart = annotations;
        TaskRunRecord recorded = run;
        LineageRecord r = store.append(event, run, key, head -> {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("seq", head.nextSeq());
            body.put("prev_sha256", head.sha256());
            body.put("event", event.name());
            body.put("key_id", key.keyId());
            body.put("recorded_at", head.now().toString());
            body.put("run", RecordCodec.toMap(recorded));
            body.put("runtime", runtime.toMap());
            if (snapshotPart != null) {
                body.put("annotations", snapshotPart);
            }
            return body;
        });
        if (witness != null) {
            witness.record(r);
        }
        openLineage.emit(run, runtime, snapshotPart);
        return r;
    }

    /**
     * What the ledger recorded at an artifact store address: the outputs of the first completed record there whose
     * body hash and signature check out with this recorder's own key (a row a database superuser wrote or rewrote
     * without the key does not count). The store reuses a folder only when its bytes still match it.
     */
    public Optional<seed.workflows.store.ArtifactStore.Recorded> recorded(String stage, String storeKey) {
        for (LineageRecord r : store.completedAt(stage, storeKey)) {
            if (!r.keyId().equals(key.keyId()) || !CanonicalJson.sha256(r.body()).equals(r.sha256())
                    || !SigningKey.verify(key.publicKeyBase64(), r.body(), r.signature())) {
                log.warn("lineage: {} names store address {} but is not signed by this recorder's key; ignored",
                        r.describe(), storeKey);
                continue;
            }
            Map<String, String> outputs = new java.util.TreeMap<>();
            for (ArtifactRef a : r.run().outputs()) {
                outputs.put(a.name(), a.sha256());
            }
            return Optional.of(new seed.workflows.store.ArtifactStore.Recorded(r.describe(), outputs, r.seq(), r.sha256()));
        }
        return Optional.empty();
    }

    /**
     * Exports the start or end of a Kestra flow execution as an OpenLineage event ({@link ExecutionEvents} calls it):
     * not a ledger record (the ledger records what task runs read and wrote), only so the parents and the root named
     * by task runs' parent facets exist, with their own START and end, in Marquez and other consumers.
     */
    public void execution(io.openlineage.client.OpenLineage.RunEvent.EventType type, java.time.Instant when,
            String namespace, String flowId, String executionId, String parentExecutionId, String parentFlowId,
            String rootExecutionId, String rootFlowId, String launchedBy) {
        openLineage.emitExecution(type, when, namespace, flowId, executionId, parentExecutionId, parentFlowId,
                rootExecutionId, rootFlowId, launchedBy, runtime);
    }

    /** The OpenLineage run id Seed gives a Kestra execution (the parent facet of its task runs). */
    public static UUID openLineageRunId(String executionId) {
        return OpenLineageEmitter.runId(executionId);
    }

    /** The OpenLineage run id of one attempt of a task run. */
    public static UUID openLineageRunId(String taskRunId, int attempt) {
        return OpenLineageEmitter.attemptRunId(taskRunId, attempt);
    }

    public String keyId() {
        return key.keyId();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (witness != null) {
            witness.close();
        }
        openLineage.close();
        if (onClose != null) {
            onClose.run();
        }
    }
}
