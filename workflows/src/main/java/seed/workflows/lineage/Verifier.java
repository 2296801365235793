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
    private final Trust trust;

    /**
     * What the auditor brings from outside the machine under audit.
     *
     * @param pinnedKeyIds       fingerprints (key ids: SHA-256 of the base64 public key) of the only signing keys to
     *                           trust; empty = trust the public key in the local key folder (weaker: on the same host)
     * @param expectHead         a chain head {@code seq:sha256} the auditor kept elsewhere ({@code seed lineage head}):
     *                           the record with that seq must still have that hash
     * @param witnessIndependent false when the witness Kafka runs on the database's machine (embedded defaults): the
     *                           report then says the witness is not independent
     */
    public record Trust(java.util.Set<String> pinnedKeyIds, Optional<String> expectHead, boolean witnessIndependent) {
        public Trust {
            pinnedKeyIds = java.util.Set.copyOf(pinnedKeyIds);
        }

        /** No pinned key, no kept head, witness assumed independent. */
        public static Trust none() {
            return new Trust(java.util.Set.of(), Optional.empty(), true);
        }
    }

    /**
     * @param keyDir the server's key folder, if this machine has it: its public key is trusted when no key is pinned
     */
    public Verifier(DataSource ds, Optional<String> kafkaBootstrap, String witnessTopic, Optional<Path> keyDir) {
        this(ds, kafkaBootstrap, witnessTopic, keyDir, Trust.none());
    }

    public Verifier(DataSource ds, Optional<String> kafkaBootstrap, String witnessTopic, Optional<Path> keyDir,
            Trust trust) {
        this.ds = ds;
        this.store = new LineageStore(ds);
        this.kafkaBootstrap = kafkaBootstrap;
        this.witnessTopic = witnessTopic;
        this.keyDir = keyDir;
        this.trust = trust;
    }

    /** Verifies {@code target} (a path or execution id); throws {@link LineageGraph.NotFound} for an unknown one. */
    public VerifyReport verify(String target) {
        List<LineageRecord> records = store.all();
        LineageGraph graph = LineageGraph.build(records, target);
        List<Problem> problems = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        WitnessLog witness = readWitness(problems);
        String trustedBy = checkRecords(records, store.keys(), problems);
        notes.add("signing keys trusted by: " + trustedBy);
        checkStoreAddresses(records, problems);
        int reused = checkReusedFrom(records, problems);
        if (reused > 0) {
            notes.add(reused + " reused stage run(s) name the lineage record that produced their artifacts");
        }
        if (witness != null) {
            checkWitness(records, witness, problems);
            if (!trust.witnessIndependent()) {
                notes.add("the witness is NOT independent: its Kafka runs on the same machine as the database"
                        + " (embedded defaults), so whoever controls this machine can rewrite both; keep the chain head"
                        + " (seed lineage head) elsewhere and verify with --expect-head, or point SEED_KAFKA_BOOTSTRAP"
                        + " at a cluster the database's administrators do not control");
            }
        }
        trust.expectHead().ifPresent(h -> checkHead(records, h, problems));
        int artifacts = checkArtifacts(graph, problems);
        checkSnapshots(graph, problems);
        return new VerifyReport(target, problems, records.size(), witness == null ? 0 : witness.head(),
                graph.nodes().size(), artifacts, notes);
    }

    /**
     * Whether the witness Kafka can be counted as independent of the database: not when it is the embedded broker,
     * nor when any of its bootstrap hosts is the database's host or both are this machine (loopback).
     */
    public static boolean witnessIndependent(boolean embeddedKafka, String kafkaBootstrap, String jdbcUrl) {
        if (embeddedKafka || kafkaBootstrap == null) {
            return false;
        }
        String db = jdbcUrl == null ? "localhost" : jdbcUrl.replaceFirst("^jdbc:postgresql://", "")
                .replaceFirst("[:/,?].*$", "");
        for (String server : kafkaBootstrap.split(",")) {
            String host = server.trim().replaceFirst(":\\d+$", "");
            if (host.equalsIgnoreCase(db) || (loopback(host) && loopback(db))) {
                return false;
            }
        }
        return true;
    }

    private static boolean loopback(String host) {
        return host.isEmpty() || host.equalsIgnoreCase("localhost") || host.startsWith("127.") || host.equals("[::1]")
                || host.equals("::1");
    }

    /** The ledger's head as {@code seq:sha256} ("0:" + genesis when empty): what an auditor keeps elsewhere. */
    public static String head(List<LineageRecord> records) {
        return records.isEmpty() ? "0:" + LineageRecord.GENESIS
                : records.get(records.size() - 1).seq() + ":" + records.get(records.size() - 1).sha256();
    }

    private static void checkHead(List<LineageRecord> records, String expected, List<Problem> problems) {
        String[] parts = expected.trim().split(":", 2);
        long seq;
        try {
            seq = Long.parseLong(parts[0]);
        } catch (NumberFormatException e) {
            seq = -1;
        }
        if (parts.length != 2 || seq < 1 || !parts[1].matches("[0-9a-f]{64}")) {
            problems.add(new Problem(Problem.Kind.HEAD_MISMATCH, "expected head " + expected,
                    "is not of the form seq:sha256 (as printed by seed lineage head)"));
            return;
        }
        long want = seq;
        Optional<LineageRecord> r = records.stream().filter(x -> x.seq() == want).findFirst();
        if (r.isEmpty()) {
            problems.add(new Problem(Problem.Kind.HEAD_MISMATCH, "expected head " + expected, "the ledger has no record "
                    + seq + " any more (its head is " + head(records) + ")"));
        } else if (!r.get().sha256().equals(parts[1])) {
            problems.add(new Problem(Problem.Kind.HEAD_MISMATCH, r.get().describe(), "has sha256 " + r.get().sha256()
                    + ", but the head kept by the auditor says " + parts[1] + ": the ledger was rewritten up to there"));
        }
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

    /** Checks every record; returns how signing keys were trusted (for the report). */
    private String checkRecords(List<LineageRecord> records, Map<String, String> dbKeys, List<Problem> problems) {
        String localKey = null;
        if (trust.pinnedKeyIds().isEmpty() && keyDir.isPresent()
                && Files.exists(keyDir.get().resolve(SigningKey.PUBLIC_FILE))) {
            try {
                localKey = SigningKey.publicKeyIn(keyDir.get());
            } catch (IOException e) {
                throw new IllegalStateException("reading the public key in " + keyDir.get() + ": " + e.getMessage(), e);
            }
        }
        String trustedBy = !trust.pinnedKeyIds().isEmpty() ? "pinned " + new java.util.TreeSet<>(trust.pinnedKeyIds())
                : localKey != null ? "the local key folder " + keyDir.get() + " (pin them with --trusted-key for a check"
                        + " that does not rely on this machine)"
                : "nothing (no pinned key and no local key folder): every record fails UNTRUSTED_KEY";
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
                // a key is trusted only when the auditor pinned it (or, unpinned, it is this machine's key folder's);
                // one announced on the witness topic is not: anyone who can produce to the topic can announce one
                String id = SigningKey.keyIdOf(pub);
                boolean vouched = trust.pinnedKeyIds().isEmpty() ? pub.equals(localKey)
                        : trust.pinnedKeyIds().contains(id) && id.equals(r.keyId());
                if (!vouched) {
                    problems.add(new Problem(Problem.Kind.UNTRUSTED_KEY, who, "signing key " + r.keyId()
                            + (trust.pinnedKeyIds().isEmpty() ? " is not the local key folder's"
                                    : " is not among the keys the auditor pinned")
                            + " (being in the database or announced on the witness topic vouches for nothing)"));
                }
                if (!SigningKey.verify(pub, r.body(), r.signature())) {
                    problems.add(new Problem(Problem.Kind.SIGNATURE, who, "the Ed25519 signature does not verify with"
                            + " key " + r.keyId() + ": the body was changed after it was signed"));
                }
            }
            prev = r.sha256();
            expectedSeq = r.seq() + 1;
        }
        return trustedBy;
    }

    /**
     * Every completed record of one artifact store address must claim the outputs its first one recorded: a later,
     * reused run with other hashes means the stored folder was changed (and done.json rewritten) between the runs.
     */
    private static void checkStoreAddresses(List<LineageRecord> records, List<Problem> problems) {
        Map<String, LineageRecord> first = new java.util.HashMap<>();
        Map<String, Map<String, String>> outputsOf = new java.util.HashMap<>();
        for (LineageRecord r : records) {
            TaskRunRecord run = completedRun(r);
            if (run == null || run.storeKey() == null) {
                continue;
            }
            Map<String, String> outputs = outputHashes(run);
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

    /**
     * Issue 17: a reused stage's record names the record that produced its artifacts ({@code reused_from}: seq and
     * SHA-256). That record must exist with that hash, be a completed run of the same stage at the same store address,
     * and have recorded the same outputs. Returns how many reused runs were checked.
     */
    private static int checkReusedFrom(List<LineageRecord> records, List<Problem> problems) {
        Map<Long, LineageRecord> bySeq = new java.util.HashMap<>();
        records.forEach(r -> bySeq.put(r.seq(), r));
        int checked = 0;
        for (LineageRecord r : records) {
            TaskRunRecord run = completedRun(r);
            if (run == null || !(run.metrics().get("reused_from") instanceof Map<?, ?> from)) {
                continue;
            }
            checked++;
            long seq = from.get("record") instanceof Number n ? n.longValue() : -1;
            LineageRecord producer = bySeq.get(seq);
            String why = null;
            if (producer == null) {
                why = "names lineage record " + seq + " as the producer of its artifacts, which the ledger lacks";
            } else if (!producer.sha256().equals(from.get("sha256"))) {
                why = "names " + producer.describe() + " with sha256 " + from.get("sha256") + ", but it hashes "
                        + producer.sha256();
            } else {
                TaskRunRecord made = completedRun(producer);
                Map<String, String> mine = outputHashes(run);
                if (made == null || !made.stage().equals(run.stage())
                        || !java.util.Objects.equals(made.storeKey(), run.storeKey()) || !mine.equals(outputHashes(made))) {
                    why = "names " + producer.describe() + " as the producer of its artifacts, but that is not the"
                            + " completed run at store address " + run.storeKey() + " with outputs " + mine;
                }
            }
            if (why != null) {
                problems.add(new Problem(Problem.Kind.REUSE_MISMATCH, r.describe(), why));
            }
        }
        return checked;
    }

    /** The task run of a COMPLETE record, or null for other events and unreadable bodies (a COLUMNS problem). */
    private static TaskRunRecord completedRun(LineageRecord r) {
        if (r.event() != LineageRecord.Event.COMPLETE) {
            return null;
        }
        try {
            return r.run();
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Output name -> SHA-256 of a run. */
    private static Map<String, String> outputHashes(TaskRunRecord run) {
        Map<String, String> outputs = new java.util.TreeMap<>();
        run.outputs().forEach(a -> outputs.put(a.name(), a.sha256()));
        return outputs;
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
        if (witness.startOffset() != 0) {
            problems.add(new Problem(Problem.Kind.WITNESS_TRUNCATED, "witness topic " + witness.topic(), "starts at"
                    + " offset " + witness.startOffset() + ", not 0: its first " + witness.startOffset()
                    + " messages were deleted, so what follows cannot vouch for the ledger"));
        }
        for (String gap : witness.gaps()) {
            problems.add(new Problem(Problem.Kind.WITNESS_TRUNCATED, "witness topic " + witness.topic(),
                    "offsets " + gap + " are missing"));
        }
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
