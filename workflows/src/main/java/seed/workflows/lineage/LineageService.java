package seed.workflows.lineage;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The read side an auditor uses, shared by the command line and the auditor page: the runs in the ledger, a
 * target's upstream graph and its verification. Holds no state beyond where to read from.
 */
public final class LineageService {

    private final LineageStore store;
    private final Verifier verifier;

    /**
     * @param kafkaBootstrap Kafka holding the witness topic (empty: verification reports the missing witness)
     * @param keyDir         the server's key folder, whose public key is trusted
     */
    public LineageService(DataSource ds, Optional<String> kafkaBootstrap, String witnessTopic, Optional<Path> keyDir) {
        this(ds, kafkaBootstrap, witnessTopic, keyDir, Verifier.Trust.none());
    }

    public LineageService(DataSource ds, Optional<String> kafkaBootstrap, String witnessTopic, Optional<Path> keyDir,
            Verifier.Trust trust) {
        this.store = new LineageStore(ds);
        this.verifier = new Verifier(ds, kafkaBootstrap, witnessTopic, keyDir, trust);
    }

    /**
     * The service on Seed's own infrastructure with the default witness topic and key folder; keys pinned in the file
     * named by {@code SEED_LINEAGE_TRUSTED_KEYS}, if set; the witness counted as independent only when Kafka is not
     * the embedded broker.
     */
    public static LineageService of(seed.annotation.infra.Infra infra) {
        String pinned = System.getenv("SEED_LINEAGE_TRUSTED_KEYS");
        java.util.Set<String> keys = pinned == null || pinned.isBlank() ? java.util.Set.of()
                : SigningKey.fingerprintsIn(Path.of(pinned));
        return new LineageService(infra.dataSource(), Optional.ofNullable(infra.kafkaBootstrap()), Lineage.WITNESS_TOPIC,
                Optional.of(Lineage.defaultKeyDir(infra.config().dataDir())),
                new Verifier.Trust(keys, Optional.empty(), Verifier.witnessIndependent(
                        infra.config().kafkaBootstrap() == null, infra.kafkaBootstrap(), infra.jdbcUrl())));
    }

    /** The ledger's head, {@code seq:sha256}. */
    public String head() {
        return Verifier.head(store.all());
    }

    public LineageGraph graph(String target) {
        return LineageGraph.build(store.all(), target);
    }

    public VerifyReport verify(String target) {
        return verifier.verify(target);
    }

    /**
     * One line per run (a top-level Kestra execution, grouping its subflow executions): id, flows, task runs, first
     * start, last end and the worst status, newest first.
     */
    public List<Map<String, Object>> runs() {
        Map<String, Map<String, Object>> byRun = new LinkedHashMap<>();
        for (LineageGraph.Node n : LineageGraph.nodes(store.all()).values()) {
            TaskRunRecord r = n.run();
            String run = r.parentExecutionId() != null ? r.parentExecutionId() : r.executionId();
            Map<String, Object> m = byRun.computeIfAbsent(run, k -> {
                Map<String, Object> x = new LinkedHashMap<>();
                x.put("run", k);
                x.put("flows", new ArrayList<String>());
                x.put("task_runs", 0);
                x.put("started_at", r.startedAt().toString());
                x.put("ended_at", null);
                x.put("status", "SUCCESS");
                x.put("launched_by", r.launchedBy());
                return x;
            });
            @SuppressWarnings("unchecked")
            List<String> flows = (List<String>) m.get("flows");
            if (!flows.contains(r.flowId())) {
                flows.add(r.flowId());
            }
            m.put("task_runs", (Integer) m.get("task_runs") + 1);
            if (r.endedAt() != null) {
                m.put("ended_at", r.endedAt().toString());
            }
            m.put("status", worse((String) m.get("status"), r.status()));
        }
        List<Map<String, Object>> out = new ArrayList<>(byRun.values());
        java.util.Collections.reverse(out);
        return out;
    }

    private static String worse(String current, TaskRunRecord.Status s) {
        List<String> order = List.of("SUCCESS", "RUNNING", "KILLED", "FAILED");
        return order.indexOf(s.name()) > order.indexOf(current) ? s.name() : current;
    }
}
