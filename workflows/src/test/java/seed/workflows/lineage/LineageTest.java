package seed.workflows.lineage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.openlineage.client.OpenLineage;
import io.openlineage.client.OpenLineageClientUtils;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import seed.annotation.infra.Infra;
import seed.workflows.SeedCli;
import seed.workflows.lineage.LedgerTamper.Cli;
import seed.workflows.lineage.LedgerTamper.Row;

/**
 * Lineage on a real, demo-shaped chain ({@link TinyChain}: real stage APIs, real rankings over Kafka into the
 * embedded PostgreSQL): show reaches the corpus, the SFT data, the snapshot and its annotators; verify passes; one
 * changed byte, one row rewritten by a superuser (chain recomputed, with and without the stolen key), an unknown key
 * and a missing witness topic all fail naming what; the database refuses changes; OpenLineage events parse with the
 * client's own model and pair up.
 */
class LineageTest {

    static TinyChain chain;
    static DataSource ds;

    @BeforeAll
    static void build() throws Exception {
        chain = TinyChain.get();
        ds = chain.annotation.infra().dataSource();
    }

    private static Verifier verifier(String topic) {
        return new Verifier(ds, Optional.of(chain.annotation.infra().kafkaBootstrap()), topic, Optional.of(chain.keyDir));
    }

    private static VerifyReport verifyPolicy() {
        return verifier(Lineage.WITNESS_TOPIC).verify(chain.artifacts.get("policy").toString());
    }

    static Cli cli(String... args) {
        return LedgerTamper.cli(chain.annotation.infra(), args);
    }

    @Test
    void showOnThePolicyReachesCorpusSftDataSnapshotAndItsAnnotators() throws Exception {
        LineageGraph g = LineageGraph.build(new LineageStore(ds).all(), chain.artifacts.get("policy").toString());
        Set<String> stages = g.nodes().stream().map(n -> n.run().stage()).collect(Collectors.toSet());
        assertEquals(Set.copyOf(chain.stages()), stages, "every step from data to policy is upstream of the policy");
        assertEquals("rlhf", g.node(g.roots().get(0)).run().stage());
        Set<String> reachedPaths = new HashSet<>();
        g.edges().forEach(e -> reachedPaths.add(e.artifact().path()));
        for (String name : List.of("corpus", "sft_data", "snapshot", "candidates", "sft", "base", "reward")) {
            assertTrue(reachedPaths.contains(chain.artifacts.get(name).toAbsolutePath().normalize().toString()),
                    name + " is on an edge of the policy's lineage: " + reachedPaths);
        }
        LineageGraph.Node snapshot = g.nodes().stream().filter(n -> n.run().stage().equals("snapshot")).findFirst().orElseThrow();
        JsonNode ann = snapshot.annotations();
        assertNotNull(ann, "the snapshot node carries its annotations");
        assertEquals(chain.snapshotId, ann.path("snapshot_id").asLong());
        assertEquals(chain.rankings, ann.path("rankings").asInt());
        Set<Long> annotators = new HashSet<>();
        ann.path("annotators").fieldNames().forEachRemaining(k -> annotators.add(Long.parseLong(k)));
        assertEquals(chain.annotatorIds, annotators, "the snapshot names exactly the annotators who ranked");
        // the checkpoint that generated the ranked candidates is the SFT checkpoint, linked by its hash
        assertTrue(g.edges().stream().anyMatch(e -> e.relation().equals("generated the ranked candidates")
                && g.node(e.from()).run().stage().equals("sft") && e.to().equals(snapshot.id())), g.edges().toString());
        // every node names the code that ran
        JsonNode rt = snapshot.runtime();
        assertTrue(rt.path("git_commit").asText().matches("[0-9a-f]{40}|unknown"), rt.toString());
        assertEquals("0.35.1", rt.path("djl").asText());

        Cli text = cli("show", chain.artifacts.get("policy").toString());
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains(chain.artifacts.get("corpus").toAbsolutePath().toString()), text.out());
        assertTrue(text.out().contains("annotations: snapshot " + chain.snapshotId + ", " + chain.rankings + " rankings by 3 annotators"), text.out());
        assertTrue(text.out().contains("launched by alice"), text.out());
        Cli json = cli("show", chain.artifacts.get("policy").toString(), "--json");
        assertEquals(0, json.exit(), json.err());
        assertEquals(7, CanonicalJson.read(json.out()).path("nodes").size());
        Cli dot = cli("show", TinyChain.MAIN_EXECUTION, "--dot");
        assertEquals(0, dot.exit(), dot.err());
        assertTrue(dot.out().startsWith("digraph lineage {") && dot.out().contains("->"), dot.out());
    }

    @Test
    void verifyPassesOnTheUntouchedRun() {
        VerifyReport r = verifyPolicy();
        assertTrue(r.ok(), () -> r.problems().toString());
        assertEquals(7, r.taskRuns());
        assertTrue(r.recordsChecked() >= 14 && r.witnessHead() >= r.recordsChecked(), r.toString());
        Cli c = cli("verify", chain.artifacts.get("policy").toString());
        assertEquals(0, c.exit(), c.out() + c.err());
        assertTrue(c.out().contains("verified=true"), c.out());
    }

    @Test
    void oneChangedByteOfAnUpstreamArtifactFailsVerifyNamingIt() throws Exception {
        Path corpus = chain.artifacts.get("corpus");
        byte[] original = Files.readAllBytes(corpus);
        byte[] changed = original.clone();
        changed[changed.length / 2] ^= 1;
        Files.write(corpus, changed);
        try {
            VerifyReport r = verifyPolicy();
            assertFalse(r.ok());
            assertEquals(Problem.Kind.ARTIFACT_CHANGED, r.first().kind());
            assertTrue(r.first().subject().contains(corpus.toAbsolutePath().toString()), r.first().message());
            Cli c = cli("verify", chain.artifacts.get("policy").toString());
            assertEquals(1, c.exit());
            assertTrue(c.err().contains("FAILED: ARTIFACT_CHANGED: artifact corpus (corpus) at " + corpus.toAbsolutePath()), c.err());
        } finally {
            Files.write(corpus, original);
        }
        assertTrue(verifyPolicy().ok(), "restored");
    }

    private static List<Row> rows() {
        return LedgerTamper.rows(ds);
    }

    private static void superuserWrite(List<Row> rows) throws SQLException {
        LedgerTamper.superuserWrite(chain.annotation.infra(), rows);
    }

    /**
     * The attack: change one setting in the body of the pretrain task's end record and recompute the hash chain
     * from there to the head, re-signing with {@code stolenKey} if given (else keeping the old signatures).
     */
    private static List<Row> rewritten(List<Row> original, long targetSeq, SigningKey stolenKey) {
        List<Row> out = new ArrayList<>();
        String prev = null;
        for (Row r : original) {
            if (r.seq() < targetSeq) {
                continue;
            }
            ObjectNode body = (ObjectNode) CanonicalJson.read(r.body());
            if (r.seq() == targetSeq) {
                ((ObjectNode) body.path("run").path("settings")).put("learningRate", 0.5);
            }
            if (prev != null) {
                body.put("prev_sha256", prev);
            }
            String text = CanonicalJson.write(CanonicalJson.JSON.convertValue(body, Map.class));
            String sha = CanonicalJson.sha256(text);
            out.add(new Row(r.seq(), text, prev != null ? prev : r.prev(), sha, r.keyId(),
                    stolenKey == null ? r.signature() : stolenKey.sign(text)));
            prev = sha;
        }
        return out;
    }

    private static long pretrainEndSeq() {
        return new LineageStore(ds).all().stream()
                .filter(r -> r.stage().equals("pretrain") && r.event() == LineageRecord.Event.COMPLETE)
                .findFirst().orElseThrow().seq();
    }

    @Test
    void aRowRewrittenBySuperuserWithTheChainRecomputedFailsOnSignatureAndWitness() throws Exception {
        List<Row> original = rows();
        long target = pretrainEndSeq();
        try {
            superuserWrite(rewritten(original, target, null));
            VerifyReport r = verifyPolicy();
            assertFalse(r.ok());
            Problem p = r.first();
            assertEquals(Problem.Kind.SIGNATURE, p.kind(), r.problems().toString());
            assertTrue(p.subject().startsWith("lineage record " + target + " (COMPLETE of pretrain"), p.message());
            assertTrue(r.problems().stream().noneMatch(x -> x.kind() == Problem.Kind.CHAIN || x.kind() == Problem.Kind.RECORD_HASH),
                    "the chain itself was recomputed consistently: " + r.problems());

            // the attacker also holds the signing key: signatures verify, the Kafka witness still names the row
            superuserWrite(rewritten(original, target, SigningKey.loadOrCreate(chain.keyDir)));
            VerifyReport w = verifyPolicy();
            assertFalse(w.ok());
            assertEquals(Problem.Kind.WITNESS_MISMATCH, w.first().kind(), w.problems().toString());
            assertTrue(w.first().subject().startsWith("lineage record " + target + " "), w.first().message());
            Cli c = cli("verify", chain.artifacts.get("policy").toString());
            assertEquals(1, c.exit());
            assertTrue(c.err().contains("FAILED: WITNESS_MISMATCH: lineage record " + target), c.err());
        } finally {
            superuserWrite(original);
        }
        assertTrue(verifyPolicy().ok(), () -> "restored: " + verifyPolicy().problems());
    }

    @Test
    void aRecordSignedWithAnUnknownKeyIsNamed() throws Exception {
        List<Row> original = rows();
        Row last = original.get(original.size() - 1);
        String fake = "f".repeat(64);
        try {
            superuserWrite(List.of(new Row(last.seq(), last.body(), last.prev(), last.sha(), fake, last.signature())));
            VerifyReport r = verifyPolicy();
            Problem unknown = r.problems().stream().filter(p -> p.kind() == Problem.Kind.UNKNOWN_KEY).findFirst().orElseThrow(
                    () -> new AssertionError(r.problems().toString()));
            assertTrue(unknown.subject().startsWith("lineage record " + last.seq() + " "), unknown.message());
            assertTrue(unknown.detail().contains("key " + fake + ", which is not in lineage_keys"), unknown.message());
        } finally {
            superuserWrite(original);
        }
    }

    @Test
    void theDatabaseRefusesChangesEvenToTheOwnerAndTheAppRoleMayOnlyInsertAndSelect() throws SQLException {
        // as the owner (the superuser), whom only the triggers stop
        try (Connection c = chain.annotation.infra().ownerDataSource().getConnection(); Statement st = c.createStatement()) {
            for (String sql : List.of("UPDATE lineage_records SET stage = 'x' WHERE seq = 1", "DELETE FROM lineage_records",
                    "TRUNCATE lineage_records", "UPDATE lineage_records SET stage = 'x' WHERE false",
                    "DELETE FROM lineage_keys")) {
                SQLException e = assertThrows(SQLException.class, () -> st.execute(sql), sql);
                assertTrue(e.getMessage().contains("lineage is append-only"), sql + ": " + e.getMessage());
            }
        }
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SET LOCAL ROLE " + LineageStore.APP_ROLE);
                st.executeQuery("SELECT count(*) FROM lineage_records").close();
                SQLException e = assertThrows(SQLException.class, () -> st.execute("UPDATE lineage_records SET stage = 'x'"));
                assertTrue(e.getMessage().contains("permission denied"), e.getMessage());
            } finally {
                c.rollback();
            }
        }
    }

    @Test
    void badTargetsAndAMissingWitnessTopicGiveClearMessagesAndNonZeroExits() throws Exception {
        Path stranger = Files.writeString(chain.dir.resolve("not-an-artifact.txt"), "hello");
        Cli c = cli("verify", stranger.toString());
        assertEquals(2, c.exit());
        assertTrue(c.err().contains(stranger.toAbsolutePath() + " is not a Seed artifact"), c.err());
        Cli none = cli("show", "no-such-run-or-path");
        assertEquals(2, none.exit());
        assertTrue(none.err().contains("'no-such-run-or-path' is neither an existing file or folder nor a recorded Kestra execution id"), none.err());

        Path empty = Files.createTempDirectory(chain.dir, "empty-");
        StringWriter err = new StringWriter();
        CommandLine cl = SeedCli.commandLine();
        cl.setErr(new PrintWriter(err, true));
        assertEquals(2, cl.execute("lineage", "verify", "some-run", "--data-dir", empty.toString()));
        assertTrue(err.toString().contains("no Seed data in " + empty.toAbsolutePath()), err.toString());
        try (var listing = Files.list(empty)) {
            assertEquals(0, listing.count(), "nothing was created in the data dir");
        }
        assertEquals(Optional.of(chain.annotation.infra().config().dataDir().toAbsolutePath().normalize()),
                LineageCommand.discoverDataDir(chain.artifacts.get("policy")), "a run's data dir is found from its artifacts");

        VerifyReport r = verifier("seed.lineage.absent").verify(chain.artifacts.get("policy").toString());
        assertEquals(Problem.Kind.NO_WITNESS, r.first().kind());
        assertTrue(r.first().detail().contains("the lineage witness topic seed.lineage.absent does not exist"), r.first().message());
        Cli w = cli("verify", chain.artifacts.get("policy").toString(), "--witness-topic", "seed.lineage.absent");
        assertEquals(1, w.exit());
        assertTrue(w.err().contains("NO_WITNESS"), w.err());
        int before = new LineageStore(ds).all().size();
        assertEquals(before, new LineageStore(ds).all().size(), "verify wrote nothing");
    }

    @Test
    void recordersInTwoJvmsOnManyThreadsExtendOneChainAndAFailedRunIsRecordedAsFail() throws Exception {
        Infra infra = chain.annotation.infra();
        Path jsonl = chain.dir.resolve("concurrent-openlineage.jsonl");
        // a second "JVM": the shared recorder a Kestra worker would open from flow globals, with its own pool
        Lineage other = Lineage.shared(new Lineage.Config(infra.jdbcUrl(), infra.jdbcUser(), infra.jdbcPassword(),
                infra.kafkaBootstrap(), chain.keyDir, jsonl, null));
        assertTrue(other == Lineage.shared(new Lineage.Config(infra.jdbcUrl(), infra.jdbcUser(), infra.jdbcPassword(),
                infra.kafkaBootstrap(), chain.keyDir, jsonl, null)), "one recorder per JVM and config");
        int before = new LineageStore(ds).all().size();
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 4; t++) {
            Lineage rec = t % 2 == 0 ? chain.lineage : other;
            int n = t;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < 5; i++) {
                        TaskRunRecord s = TaskRunRecord.started("exec-concurrent", null, "seed", "seed.eval", 1,
                                "eval", "tr-c-" + n + "-" + i, "evaluate", "trigger:schedule", 1, "cpu",
                                Map.of("i", i), List.of(), null);
                        rec.started(s);
                        rec.finished(s.finish(i == 4 && n == 3 ? TaskRunRecord.Status.FAILED : TaskRunRecord.Status.SUCCESS,
                                List.of(), i == 4 && n == 3 ? Map.of("error", "evaluation diverged") : Map.of("ok", 1)));
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), errors);
        List<LineageRecord> all = new LineageStore(ds).all();
        assertEquals(before + 40, all.size());
        for (int i = 0; i < all.size(); i++) {
            assertEquals(i + 1, all.get(i).seq(), "no gaps");
        }
        VerifyReport r = verifier(Lineage.WITNESS_TOPIC).verify("exec-concurrent");
        assertTrue(r.ok(), () -> r.problems().toString());
        assertEquals(20, r.taskRuns());
        LineageRecord failed = all.stream().filter(x -> x.taskRunId().equals("tr-c-3-4") && x.event() != LineageRecord.Event.START)
                .findFirst().orElseThrow();
        assertEquals(LineageRecord.Event.FAIL, failed.event());
        OpenLineage.RunEvent fail = Files.readAllLines(jsonl).stream().map(OpenLineageClientUtils::runEventFromJson)
                .filter(e -> e.getEventType() == OpenLineage.RunEvent.EventType.FAIL).findFirst().orElseThrow();
        assertEquals("evaluation diverged", fail.getRun().getFacets().getErrorMessage().getMessage());
        assertEquals(Lineage.openLineageRunId("tr-c-3-4", 1), fail.getRun().getRunId());
        assertThrows(IllegalArgumentException.class, () -> chain.lineage.finished(TaskRunRecord.started("e", null, "seed",
                "f", 1, "t", "tr", "s", "alice", 1, "cpu", Map.of(), List.of(), null)), "a RUNNING record is not an end");
    }

    @Test
    void openLineageEventsAlsoReachAnHttpEndpointLikeMarquez() throws Exception {
        List<String> bodies = java.util.Collections.synchronizedList(new ArrayList<>());
        List<String> paths = java.util.Collections.synchronizedList(new ArrayList<>());
        com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            paths.add(ex.getRequestMethod() + " " + ex.getRequestURI().getPath());
            bodies.add(new String(ex.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            ex.sendResponseHeaders(201, -1);
            ex.close();
        });
        server.start();
        Infra infra = chain.annotation.infra();
        try (Lineage http = Lineage.open(ds, chain.keyDir, Optional.of(infra.kafkaBootstrap()), Optional.empty(),
                Optional.of(java.net.URI.create("http://127.0.0.1:" + server.getAddress().getPort())))) {
            TaskRunRecord s = TaskRunRecord.started("exec-http", null, "seed", "seed.eval", 1, "eval", "tr-http", "evaluate",
                    "alice", 1, "cpu", Map.of(), List.of(ArtifactRef.of("policy", chain.artifacts.get("policy"), "policy")), null);
            http.started(s);
            http.finished(s.finish(TaskRunRecord.Status.SUCCESS, List.of(), Map.of("rule_rate", 0.5)));
        } finally {
            server.stop(0);
        }
        assertEquals(List.of("POST /api/v1/lineage", "POST /api/v1/lineage"), paths);
        List<OpenLineage.RunEvent.EventType> types = bodies.stream().map(OpenLineageClientUtils::runEventFromJson)
                .map(OpenLineage.RunEvent::getEventType).toList();
        assertEquals(List.of(OpenLineage.RunEvent.EventType.START, OpenLineage.RunEvent.EventType.COMPLETE), types);
        assertEquals(Lineage.openLineageRunId("exec-http"),
                OpenLineageClientUtils.runEventFromJson(bodies.get(0)).getRun().getFacets().getParent().getRun().getRunId());
    }

    @Test
    void afterTheServicesStopTheCommandsFindTheRunsDataDirFromAnArtifactPath() throws Exception {
        // a finished run on embedded defaults: services stopped, the data dir left under the run folder
        Path run = Files.createTempDirectory(chain.dir, "finished-run-");
        Path artifact = Files.writeString(Files.createDirectories(run.resolve("store")).resolve("model.txt"), "weights");
        try (seed.annotation.Annotation a = seed.annotation.Annotation.start(
                seed.annotation.infra.InfraConfig.embedded(run.resolve("annotation")));
             Lineage rec = Lineage.open(a.infra())) {
            TaskRunRecord s = TaskRunRecord.started("exec-finished", null, "seed", "seed.pretrain", 1, "pretrain",
                    "tr-finished", "pretrain", "bob", 1, "cpu", Map.of("steps", 1), List.of(), null);
            rec.started(s);
            rec.finished(s.finish(TaskRunRecord.Status.SUCCESS, List.of(ArtifactRef.of("checkpoint", artifact, "checkpoint")),
                    Map.of()));
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = SeedCli.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        assertEquals(0, cl.execute("lineage", "show", artifact.toString()), err.toString());
        assertTrue(out.toString().contains("launched by bob"), out.toString());
        out.getBuffer().setLength(0);
        assertEquals(0, cl.execute("lineage", "verify", artifact.toString()), err.toString());
        assertTrue(out.toString().contains("verified=true") && out.toString().contains("witness_head=2"), out.toString());
    }

    @Test
    void everyOpenLineageEventParsesWithTheClientModelAndPairsUpUnderItsExecution() throws Exception {
        List<String> lines = Files.readAllLines(chain.openLineageFile).stream().filter(l -> !l.isBlank()).toList();
        Map<UUID, List<OpenLineage.RunEvent>> byRun = new HashMap<>();
        for (String line : lines) {
            OpenLineage.RunEvent e = OpenLineageClientUtils.runEventFromJson(line);
            Object execution = e.getRun().getFacets().getAdditionalProperties().get("seed_kestra")
                    .getAdditionalProperties().get("executionId");
            if (!chain.executionOf.containsValue(execution)) {
                continue; // another test's task runs, recorded by the same recorder (every line still parsed)
            }
            byRun.computeIfAbsent(e.getRun().getRunId(), k -> new ArrayList<>()).add(e);
        }
        assertTrue(byRun.size() >= 7, "one run per task run: " + byRun.keySet());
        for (Map.Entry<UUID, List<OpenLineage.RunEvent>> run : byRun.entrySet()) {
            List<OpenLineage.RunEvent.EventType> types = run.getValue().stream().map(OpenLineage.RunEvent::getEventType).toList();
            assertEquals(List.of(OpenLineage.RunEvent.EventType.START, OpenLineage.RunEvent.EventType.COMPLETE), types,
                    "run " + run.getKey());
            for (OpenLineage.RunEvent e : run.getValue()) {
                OpenLineage.ParentRunFacet parent = e.getRun().getFacets().getParent();
                String execution = (String) e.getRun().getFacets().getAdditionalProperties().get("seed_kestra")
                        .getAdditionalProperties().get("executionId");
                assertEquals(chain.executionOf.get(parent.getJob().getName()), execution);
                assertEquals(Lineage.openLineageRunId(execution), parent.getRun().getRunId());
                assertEquals(TinyChain.NS, parent.getJob().getNamespace());
                assertTrue(e.getJob().getName().startsWith(parent.getJob().getName() + "."), e.getJob().getName());
            }
            OpenLineage.RunEvent complete = run.getValue().get(1);
            for (OpenLineage.OutputDataset out : complete.getOutputs()) {
                String version = out.getFacets().getVersion().getDatasetVersion();
                assertEquals(seed.stages.checkpoint.Hashes.sha256(Path.of(out.getName())), version, out.getName());
            }
        }
        OpenLineage.RunEvent policy = byRun.values().stream().flatMap(List::stream)
                .filter(e -> e.getJob().getName().equals("seed.rlhf.ppo") && !e.getOutputs().isEmpty()).findFirst().orElseThrow();
        assertEquals(chain.artifacts.get("policy").toAbsolutePath().normalize().toString(), policy.getOutputs().get(0).getName());
    }
}
