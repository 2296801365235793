package seed.workflows.lineage;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;
import seed.stages.checkpoint.Hashes;

/**
 * {@code seed lineage verify}: checks the whole ledger (each record's hash, its link to the previous one, its columns
 * against its body, its key and signature), the ledger against the Kafka witness, then re-hashes every artifact in
 * the target's upstream tree and re-reads the annotations of every snapshot in it. Reads only; changes nothing.
 */
public final class Verifier {

    private final DataSource ds;
    private final LineageStore store;
    private final Optional<String> kafkaBootstrap;
    private final String witnessTopic;
    private final Optional<Path> keyDir;

    /**
     * @param keyDir the server's key folder, if this machine has it: its public key is trusted like a witnessed one
     */
    public Verifier(DataSource ds, Optional<String> kafkaBootstrap, String witnessTopic, Optional<Path> keyDir) {
        this.ds = ds;
        this.store = new LineageStore(ds);
        this.kafkaBootstrap = kafkaBootstrap;
        this.witnessTopic = witnessTopic;
        this.keyDir = keyDir;
    }

    /** Verifies {@code target} (a path or execution id); throws {@link LineageGraph.NotFound} for an unknown one. */
    public VerifyReport verify(String target) {
        List<LineageRecord> records = store.all();
        LineageGraph graph = LineageGraph.build(records, target);
        List<Problem> problems = new ArrayList<>();
        WitnessLog witness = readWitness(problems);
        checkRecords(records, store.keys(), witness, problems);
        checkStoreAddresses(records, problems);
        if (witness != null) {
            checkWitness(records, witness, problems);
        }
        int artifacts = checkArtifacts(graph, problems);
        checkSnapshots(graph, problems);
        return new VerifyReport(target, problems, records.size(), witness == null ? 0 : witness.head(),
                graph.nodes().size(), artifacts);
    }

    private WitnessLog readWitness(List<Problem> problems) {
        if (kafkaBootstrap.isEmpty()) {
            problems.add(new Problem(Problem.Kind.NO_WITNESS, "witness topic " + witnessTopic,
                    "no Kafka is configured, so the chain head cannot be checked against its witness"));
            return null;
        }
        try {
            return WitnessLog.read(kafkaBootstrap.get(), witnessTopic, Duration.ofSeconds(30));
        } catch (WitnessLog.MissingTopic | IllegalStateException e) {
            problems.add(new Problem(Problem.Kind.NO_WITNESS, "witness topic " + witnessTopic, e.getMessage()));
            return null;
        }
    }

    private void checkRecords(List<LineageRecord> records, Map<String, String> dbKeys, WitnessLog witness,
            List<Problem> problems) {
        String localKey = null;
        if (keyDir.isPresent() && Files.exists(keyDir.get().resolve(SigningKey.PUBLIC_FILE))) {
            try {
                localKey = SigningKey.publicKeyIn(keyDir.get());
            } catch (IOException e) {
                throw new IllegalStateException("reading the public key in " + keyDir.get() + ": " + e.getMessage(), e);
            }
        }
        long expectedSeq = 1;
        String prev = LineageRecord.GENESIS;
        for (LineageRecord r : records) {
            String who = r.describe();
            if (r.seq() != expectedSeq) {
                problems.add(new Problem(Problem.Kind.CHAIN, who, "expected seq " + expectedSeq
                        + " next: records " + expectedSeq + ".." + (r.seq() - 1) + " are missing"));
            }
            if (!r.prevSha256().equals(prev)) {
                problems.add(new Problem(Problem.Kind.CHAIN, who, "prev_sha256 " + r.prevSha256()
                        + " is not the hash of the record before it (" + prev + ")"));
            }
            String actual = CanonicalJson.sha256(r.body());
            if (!actual.equals(r.sha256())) {
                problems.add(new Problem(Problem.Kind.RECORD_HASH, who, "stored sha256 " + r.sha256()
                        + " but its body hashes to " + actual));
            }
            checkColumns(r, who, problems);
            String pub = dbKeys.get(r.keyId());
            if (pub == null) {
                problems.add(new Problem(Problem.Kind.UNKNOWN_KEY, who, "signed with key " + r.keyId()
                        + ", which is not in lineage_keys: the signature cannot be checked"));
            } else {
                boolean vouched = pub.equals(localKey) || (witness != null && pub.equals(witness.keys().get(r.keyId())));
                if (!vouched) {
                    problems.add(new Problem(Problem.Kind.UNTRUSTED_KEY, who, "signing key " + r.keyId()
                            + " is in the database but neither announced on the witness topic nor the local key"));
                }
                if (!SigningKey.verify(pub, r.body(), r.signature())) {
                    problems.add(new Problem(Problem.Kind.SIGNATURE, who, "the Ed25519 signature does not verify with"
                            + " key " + r.keyId() + ": the body was changed after it was signed"));
                }
            }
            prev = r.sha256();
            expectedSeq = r.seq() + 1;
        }
    }

    /**
     * Every completed record of one artifact store address must claim the outputs its first one recorded: a later,
     * reused run with other hashes means the stored folder was changed (and done.json rewritten) between the runs.
     */
    private static void checkStoreAddresses(List<LineageRecord> records, List<Problem> problems) {
        Map<String, LineageRecord> first = new java.util.HashMap<>();
        Map<String, Map<String, String>> outputsOf = new java.util.HashMap<>();
        for (LineageRecord r : records) {
            if (r.event() != LineageRecord.Event.COMPLETE) {
                continue;
            }
            TaskRunRecord run;
            try {
                run = r.run();
            } catch (RuntimeException e) {
                continue; // an unreadable body is already a COLUMNS problem
            }
            if (run.storeKey() == null) {
                continue;
            }
            Map<String, String> outputs = new java.util.TreeMap<>();
            run.outputs().forEach(a -> outputs.put(a.name(), a.sha256()));
            String address = run.stage() + ":" + run.storeKey();
            LineageRecord earlier = first.putIfAbsent(address, r);
            if (earlier == null) {
                outputsOf.put(address, outputs);
            } else if (!outputsOf.get(address).equals(outputs)) {
                problems.add(new Problem(Problem.Kind.STORE_CONFLICT, r.describe(), "store address " + run.storeKey()
                        + " claims outputs " + outputs + ", but " + earlier.describe() + " recorded "
                        + outputsOf.get(address) + " at the same address: the stored folder was changed between them"));
            }
        }
    }

    private static void checkColumns(LineageRecord r, String who, List<Problem> problems) {
        JsonNode b;
        try {
            b = r.bodyJson();
        } catch (IllegalArgumentException e) {
            problems.add(new Problem(Problem.Kind.COLUMNS, who, "body is not JSON: " + e.getMessage()));
            return;
        }
        JsonNode run = b.path("run");
        List<String> diffs = new ArrayList<>();
        if (b.path("seq").asLong() != r.seq()) {
            diffs.add("seq");
        }
        if (!b.path("prev_sha256").asText().equals(r.prevSha256())) {
            diffs.add("prev_sha256");
        }
        if (!b.path("event").asText().equals(r.event().name())) {
            diffs.add("event");
        }
        if (!b.path("key_id").asText().equals(r.keyId())) {
            diffs.add("key_id");
        }
        if (!run.path("execution_id").asText().equals(r.executionId())) {
            diffs.add("execution_id");
        }
        if (!run.path("task_run_id").asText().equals(r.taskRunId())) {
            diffs.add("task_run_id");
        }
        if (!run.path("stage").asText().equals(r.stage())) {
            diffs.add("stage");
        }
        if (!diffs.isEmpty()) {
            problems.add(new Problem(Problem.Kind.COLUMNS, who, "columns " + diffs + " differ from the signed body"));
        }
    }

    private static void checkWitness(List<LineageRecord> records, WitnessLog witness, List<Problem> problems) {
        Set<Long> inDb = new HashSet<>();
        for (LineageRecord r : records) {
            inDb.add(r.seq());
            String w = witness.recordSha256().get(r.seq());
            if (w == null) {
                problems.add(new Problem(Problem.Kind.NOT_WITNESSED, r.describe(), "no entry on witness topic "
                        + witness.topic() + " (witness head is record " + witness.head() + ")"));
            } else if (!w.equals(r.sha256())) {
                problems.add(new Problem(Problem.Kind.WITNESS_MISMATCH, r.describe(), "the database holds sha256 "
                        + r.sha256() + " but " + witness.topic() + " witnessed " + w
                        + " when it was written: the ledger was rewritten"));
            }
        }
        for (Map.Entry<Long, String> w : witness.recordSha256().entrySet()) {
            if (!inDb.contains(w.getKey())) {
                problems.add(new Problem(Problem.Kind.WITNESS_ONLY, "lineage record " + w.getKey(),
                        "witnessed on " + witness.topic() + " (sha256 " + w.getValue() + ") but missing from the database"));
            }
        }
    }

    private static int checkArtifacts(LineageGraph graph, List<Problem> problems) {
        Set<String> seen = new HashSet<>();
        for (LineageGraph.Node n : graph.nodes()) {
            List<ArtifactRef> all = new ArrayList<>(n.run().outputs());
            all.addAll(n.run().inputs());
            for (ArtifactRef a : all) {
                if (!seen.add(a.path() + "\0" + a.sha256())) {
                    continue;
                }
                String who = "artifact " + a.name() + " (" + a.kind() + ") at " + a.path() + " of task run "
                        + n.run().taskId() + " [" + n.run().stage() + "]";
                Path p = Path.of(a.path());
                if (!Files.exists(p)) {
                    problems.add(new Problem(Problem.Kind.ARTIFACT_MISSING, who, "no longer exists (recorded sha256 "
                            + a.sha256() + ")"));
                    continue;
                }
                try {
                    String now = Hashes.sha256(p);
                    if (!now.equals(a.sha256())) {
                        problems.add(new Problem(Problem.Kind.ARTIFACT_CHANGED, who, "sha256 is now " + now
                                + ", recorded " + a.sha256()));
                    }
                } catch (IOException e) {
                    problems.add(new Problem(Problem.Kind.ARTIFACT_MISSING, who, "cannot be read: " + e.getMessage()));
                }
            }
        }
        return seen.size();
    }

    private void checkSnapshots(LineageGraph graph, List<Problem> problems) {
        for (LineageGraph.Node n : graph.nodes()) {
            JsonNode ann = n.annotations();
            if (ann == null) {
                continue;
            }
            long id = ann.path("snapshot_id").asLong();
            String who = "snapshot " + id + " of task run " + n.run().taskId() + " [" + n.run().stage() + "]";
            Optional<SnapshotAnnotations> now = SnapshotAnnotations.read(ds, id);
            if (now.isEmpty()) {
                problems.add(new Problem(Problem.Kind.SNAPSHOT_CHANGED, who, "no longer exists in preference_snapshots"));
                continue;
            }
            if (!now.get().membersSha256().equals(ann.path("members_sha256").asText())) {
                problems.add(new Problem(Problem.Kind.SNAPSHOT_CHANGED, who, "its ranking events or their annotators"
                        + " changed: members digest is now " + now.get().membersSha256() + ", recorded "
                        + ann.path("members_sha256").asText()));
            }
            if (!now.get().snapshotSha256().equals(ann.path("snapshot_sha256").asText())) {
                problems.add(new Problem(Problem.Kind.SNAPSHOT_CHANGED, who, "preference_snapshots.sha256 is now "
                        + now.get().snapshotSha256() + ", recorded " + ann.path("snapshot_sha256").asText()));
            }
        }
    }
}
