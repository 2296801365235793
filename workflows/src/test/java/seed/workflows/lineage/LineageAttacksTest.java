package seed.workflows.lineage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import seed.annotation.Annotation;
import seed.annotation.infra.Infra;
import seed.annotation.infra.InfraConfig;
import seed.stages.checkpoint.Checkpoints;
import seed.workflows.lineage.LedgerTamper.Cli;
import seed.workflows.lineage.LedgerTamper.Row;

/**
 * Issue 18's attacks on the ledger, run as the outside auditor ran them, on a ledger of its own (embedded PostgreSQL
 * and Kafka; the last test deletes witness messages, which cannot be undone): a hidden file slipped into a checkpoint
 * folder; a row rewritten with an attacker's own key announced on the witness topic; and the full rewrite with the
 * stolen key (read through {@code pg_read_file} as the database superuser), the witness log's start deleted with
 * {@code Admin.deleteRecords} and forged witness messages produced in its place. Each is now caught, naming what.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LineageAttacksTest {

    static Path dir;
    static Annotation annotation;
    static Infra infra;
    static DataSource ds;
    static Path keyDir;
    static Lineage lineage;
    static Path corpus;
    static Path base;
    static Path sft;

    @BeforeAll
    static void ledger() throws Exception {
        dir = Files.createTempDirectory("seed-lineage-attacks-");
        annotation = Annotation.start(InfraConfig.embedded(dir.resolve("annotation")));
        infra = annotation.infra();
        ds = infra.dataSource();
        keyDir = Lineage.defaultKeyDir(infra.config().dataDir());
        lineage = Lineage.open(ds, keyDir, Optional.of(infra.kafkaBootstrap()), Optional.empty(), Optional.empty());
        corpus = Files.writeString(dir.resolve("corpus.txt"), "to be or not to be\n".repeat(50));
        base = checkpoint("base", 1);
        sft = checkpoint("sft", 2);
        record("pretrain", Map.of("steps", 8, "lr", 0.003), List.of(ArtifactRef.of("corpus", corpus, "corpus")),
                List.of(ArtifactRef.of("checkpoint", base, "checkpoint")));
        record("sft", Map.of("steps", 8, "lr", 0.002), List.of(ArtifactRef.of("base", base, "checkpoint")),
                List.of(ArtifactRef.of("checkpoint", sft, "checkpoint")));
    }

    @AfterAll
    static void close() throws Exception {
        lineage.close();
        annotation.close();
        Checkpoints.deleteTree(dir);
    }

    private static Path checkpoint(String name, int seed) throws Exception {
        Path ck = Files.createDirectories(dir.resolve(name).resolve("checkpoints/step-0000008"));
        Files.writeString(ck.resolve("config.json"), "{\"layers\": 1}");
        byte[] weights = new byte[4096];
        new java.util.Random(seed).nextBytes(weights);
        Files.write(ck.resolve("model.safetensors"), weights);
        return ck;
    }

    private static void record(String stage, Map<String, Object> settings, List<ArtifactRef> in, List<ArtifactRef> out) {
        TaskRunRecord s = TaskRunRecord.started("exec-attacks", null, "seed", "seed." + stage, 1, stage,
                "tr-" + stage, stage, "alice", 1, "cpu", settings, in, null);
        lineage.started(s);
        lineage.finished(s.finish(TaskRunRecord.Status.SUCCESS, out, Map.of("val_loss", 1.5)));
    }

    private static String realFingerprint() throws Exception {
        return SigningKey.keyIdOf(SigningKey.publicKeyIn(keyDir));
    }

    private static VerifyReport verify(Verifier.Trust trust) {
        return new Verifier(ds, Optional.of(infra.kafkaBootstrap()), Lineage.WITNESS_TOPIC, Optional.of(keyDir), trust)
                .verify("exec-attacks");
    }

    private static Verifier.Trust pinned(Optional<String> head) throws Exception {
        return new Verifier.Trust(Set.of(realFingerprint()), head, false);
    }

    static Cli cli(String... args) {
        return LedgerTamper.cli(infra, args);
    }

    @Test
    @Order(1)
    void aHiddenFileSlippedIntoACheckpointFolderFailsVerifyNamingTheFolder() throws Exception {
        assertTrue(verify(pinned(Optional.empty())).ok(), () -> verify(Verifier.Trust.none()).problems().toString());
        Path hidden = Files.writeString(sft.resolve(".extra-weights"), "payload");
        try {
            VerifyReport r = verify(pinned(Optional.empty()));
            assertFalse(r.ok());
            assertEquals(Problem.Kind.ARTIFACT_CHANGED, r.first().kind(), r.problems().toString());
            assertTrue(r.first().subject().contains("at " + sft.toAbsolutePath().normalize()), r.first().message());
        } finally {
            Files.delete(hidden);
        }
        assertTrue(verify(pinned(Optional.empty())).ok());
    }

    private static List<Row> rows() {
        return LedgerTamper.rows(ds);
    }

    private static void superuserWrite(List<Row> rows) throws SQLException {
        LedgerTamper.superuserWrite(infra, rows);
    }

    /** The pretrain end record's learning rate changed, the chain recomputed from there and re-signed with {@code key}. */
    private static List<Row> rewritten(List<Row> original, SigningKey key) {
        long target = new LineageStore(ds).all().stream()
                .filter(r -> r.stage().equals("pretrain") && r.event() == LineageRecord.Event.COMPLETE)
                .findFirst().orElseThrow().seq();
        List<Row> out = new ArrayList<>();
        String prev = null;
        for (Row r : original) {
            if (r.seq() < target) {
                continue;
            }
            ObjectNode body = (ObjectNode) CanonicalJson.read(r.body());
            if (r.seq() == target) {
                ((ObjectNode) body.path("run").path("settings")).put("lr", 0.5);
            }
            if (prev != null) {
                body.put("prev_sha256", prev);
            }
            body.put("key_id", key.keyId());
            String text = CanonicalJson.write(CanonicalJson.JSON.convertValue(body, Map.class));
            String sha = CanonicalJson.sha256(text);
            out.add(new Row(r.seq(), text, prev != null ? prev : r.prev(), sha, key.keyId(), key.sign(text)));
            prev = sha;
        }
        return out;
    }

    private static KafkaProducer<String, String> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, infra.kafkaBootstrap());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    private static void announce(KafkaProducer<String, String> p, SigningKey key) throws Exception {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "key");
        m.put("key_id", key.keyId());
        m.put("public_key", key.publicKeyBase64());
        p.send(new ProducerRecord<>(Lineage.WITNESS_TOPIC, 0, "key:" + key.keyId(), CanonicalJson.write(m))).get();
    }

    @Test
    @Order(2)
    void aKeyAnnouncedOnTheWitnessTopicIsNotTrusted() throws Exception {
        List<Row> original = rows();
        Path attackerDir = Files.createTempDirectory(dir, "attacker-");
        SigningKey mine = SigningKey.loadOrCreate(attackerDir);
        try (Connection c = infra.ownerDataSource().getConnection(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO lineage_keys(key_id, algorithm, public_key) VALUES ('" + mine.keyId()
                    + "', 'Ed25519', '" + mine.publicKeyBase64() + "')");
        }
        try (KafkaProducer<String, String> p = producer()) {
            announce(p, mine);
        }
        try {
            superuserWrite(rewritten(original, mine));
            for (Verifier.Trust trust : List.of(pinned(Optional.empty()), Verifier.Trust.none())) {
                VerifyReport r = verify(trust);
                Problem untrusted = r.problems().stream().filter(x -> x.kind() == Problem.Kind.UNTRUSTED_KEY)
                        .findFirst().orElseThrow(() -> new AssertionError(r.problems().toString()));
                assertTrue(untrusted.detail().contains("signing key " + mine.keyId()), untrusted.message());
                assertTrue(untrusted.detail().contains("announced on the witness topic vouches for nothing"),
                        untrusted.message());
            }
        } finally {
            superuserWrite(original);
        }
        assertTrue(verify(pinned(Optional.empty())).ok(), () -> verify(Verifier.Trust.none()).problems().toString());
    }

    @Test
    @Order(3)
    void theStolenKeyARecomputedChainAndAForgedWitnessAreCaughtByTheLogsStartAndTheKeptHead() throws Exception {
        Cli head = cli("head");
        assertEquals(0, head.exit(), head.err());
        String kept = head.out().lines().filter(l -> l.startsWith("head=")).findFirst().orElseThrow().substring(5);
        assertEquals(Verifier.head(new LineageStore(ds).all()), kept);
        assertTrue(head.out().contains("key=" + realFingerprint()), head.out());

        // 0. since issue 18 the embedded PostgreSQL trusts nobody: without the password, or with a wrong one, the
        // superuser's login is refused, and the application's own role cannot read files at all
        String url = infra.jdbcUrl();
        for (String pw : new String[] {null, "", "wrong-password"}) {
            Properties props = new Properties();
            props.setProperty("user", "postgres");
            if (pw != null) {
                props.setProperty("password", pw);
            }
            SQLException refused = assertThrows(SQLException.class, () -> java.sql.DriverManager.getConnection(url, props)
                    .close(), "superuser login with password " + pw);
            assertTrue(refused.getMessage().contains("password"), refused.getMessage());
        }
        Path privateKey = keyDir.resolve(SigningKey.PRIVATE_FILE).toAbsolutePath();
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            SQLException denied = assertThrows(SQLException.class,
                    () -> st.executeQuery("SELECT pg_read_file('" + privateKey + "')").close());
            assertTrue(denied.getMessage().contains("permission denied"), denied.getMessage());
            st.execute("RESET ROLE"); // the pool logs in as the app role itself: there is no superuser to go back to
            try (ResultSet rs = st.executeQuery("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")) {
                rs.next();
                assertEquals(LineageStore.APP_ROLE, rs.getString(1));
                assertFalse(rs.getBoolean(2));
            }
        }

        // 1. the superuser (who has stolen its password: the worst case) reads the signing key with pg_read_file.
        // Since issue 18 the key is outside the data folder, but on embedded defaults PostgreSQL runs as the same OS
        // user and can still read it
        assertFalse(keyDir.startsWith(infra.config().dataDir().toAbsolutePath()), "the key is outside the data folder");
        Path stolenDir = Files.createTempDirectory(dir, "stolen-");
        try (Connection c = infra.ownerDataSource().getConnection(); Statement st = c.createStatement()) {
            for (String f : List.of(SigningKey.PRIVATE_FILE, SigningKey.PUBLIC_FILE)) {
                try (ResultSet rs = st.executeQuery("SELECT pg_read_file('"
                        + keyDir.resolve(f).toAbsolutePath() + "')")) {
                    rs.next();
                    Files.writeString(stolenDir.resolve(f), rs.getString(1));
                }
            }
        }
        SigningKey stolen = SigningKey.loadOrCreate(stolenDir);
        assertEquals(realFingerprint(), stolen.keyId(), "the attacker holds the real key");

        // 2. rewrites a row and re-signs the recomputed chain; 3. deletes the witness log; 4. forges it anew
        List<Row> forged = rewritten(rows(), stolen);
        superuserWrite(forged);
        TopicPartition tp = new TopicPartition(Lineage.WITNESS_TOPIC, 0);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, infra.kafkaBootstrap()))) {
            long end = endOffset(tp);
            admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(end))).all().get(30, TimeUnit.SECONDS);
        }
        try (KafkaProducer<String, String> p = producer()) {
            announce(p, stolen);
            for (LineageRecord r : new LineageStore(ds).all()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("type", "record");
                m.put("seq", r.seq());
                m.put("sha256", r.sha256());
                m.put("prev_sha256", r.prevSha256());
                m.put("key_id", r.keyId());
                p.send(new ProducerRecord<>(Lineage.WITNESS_TOPIC, 0, "record:" + r.seq(), CanonicalJson.write(m))).get();
            }
        }

        // every other layer now agrees with the forgery: only the log's start gives it away ...
        VerifyReport r = verify(pinned(Optional.empty()));
        assertFalse(r.ok());
        assertEquals(Set.of(Problem.Kind.WITNESS_TRUNCATED),
                r.problems().stream().map(Problem::kind).collect(Collectors.toSet()), r.problems().toString());
        assertTrue(r.first().detail().startsWith("starts at offset "), r.first().message());
        // ... and the head the auditor kept elsewhere names the rewritten record
        VerifyReport h = verify(pinned(Optional.of(kept)));
        Problem mismatch = h.problems().stream().filter(x -> x.kind() == Problem.Kind.HEAD_MISMATCH).findFirst()
                .orElseThrow(() -> new AssertionError(h.problems().toString()));
        assertTrue(mismatch.subject().startsWith("lineage record " + kept.split(":")[0] + " "), mismatch.message());

        Cli c = cli("verify", "exec-attacks", "--trusted-key", realFingerprint(), "--expect-head", kept);
        assertEquals(1, c.exit(), c.out() + c.err());
        assertTrue(c.err().contains("FAILED: WITNESS_TRUNCATED: witness topic " + Lineage.WITNESS_TOPIC), c.err());
        assertTrue(c.err().contains("HEAD_MISMATCH"), c.err());
        assertTrue(c.out().contains("witness_independent=false") && c.out().contains("the witness is NOT independent"),
                c.out());
        assertTrue(c.out().contains("verified=false"), c.out());
    }

    private static long endOffset(TopicPartition tp) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, infra.kafkaBootstrap());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            return consumer.endOffsets(List.of(tp)).get(tp);
        }
    }
}
