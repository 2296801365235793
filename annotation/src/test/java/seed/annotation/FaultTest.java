package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.cli.AnnotateCommand;
import seed.annotation.core.Annotator;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.RankingProducer;
import seed.annotation.core.Submission;
import seed.annotation.core.SubmitOutcome;
import seed.annotation.infra.Infra;
import seed.annotation.infra.InfraConfig;
import seed.annotation.ingest.Ingester;

/**
 * Faults on the real path: an ingester process SIGKILLed after a database commit but before its offset commit, then
 * restarted; and the broker restarted while annotators submit. Both must end with exactly the acknowledged events
 * in PostgreSQL: none lost, none doubled.
 */
class FaultTest {

    @TempDir
    static Path dir;
    static Annotation a;

    @BeforeAll
    static void start() {
        a = Annotation.start(InfraConfig.embedded(dir.resolve("data")));
    }

    /** Every forked ingester, so a failed assertion never leaves one running. */
    final List<Process> forked = new ArrayList<>();

    @org.junit.jupiter.api.AfterEach
    void killForked() throws InterruptedException {
        for (Process p : forked) {
            if (p.isAlive()) {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    @AfterAll
    static void stop() {
        if (a != null) {
            a.close();
        }
    }

    /** Creates n items with 2 responses, assigned to one new annotator; returns the item ids. */
    static List<Long> assignedItems(Annotator ann, int n) throws Exception {
        List<Long> ids = a.loadCandidates(Fixtures.candidates(dir, n, 2, null), 1).itemIds();
        try (Connection c = a.infra().dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("INSERT INTO assignments(item_id, annotator_id)"
                     + " SELECT unnest(?::bigint[]), ?")) {
            ps.setArray(1, c.createArrayOf("int8", ids.toArray()));
            ps.setLong(2, ann.id());
            ps.executeUpdate();
        }
        return ids;
    }

    /** The claim the API makes before producing (the ingester stores only an assignment's claimed event). */
    static void claim(RankingEvent e) {
        assertEquals(seed.annotation.core.Catalog.Claim.CLAIMED, a.catalog().claim(e.itemId(), e.annotatorId(), e.eventId()));
    }

    static Set<UUID> storedIds(Annotator ann) throws Exception {
        Set<UUID> out = new HashSet<>();
        try (Connection c = a.infra().dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT event_id FROM ranking_events WHERE annotator_id = ?")) {
            ps.setLong(1, ann.id());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add((UUID) rs.getObject(1));
                }
            }
        }
        return out;
    }

    private Process forkIngester(InfraConfig shared, String topic, String group, long pauseMs, boolean untilCaughtUp) throws Exception {
        return forkIngester(shared, topic, group, pauseMs, 0, untilCaughtUp);
    }

    private Process forkIngester(InfraConfig shared, String topic, String group, long pauseMs, long pauseBeforeCommitMs,
                                 boolean untilCaughtUp) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dseed.ingest.pause-before-commit-ms=" + pauseBeforeCommitMs, "-cp", System.getProperty("java.class.path"), AnnotateCommand.class.getName(), "ingest",
                "--kafka-bootstrap", shared.kafkaBootstrap(), "--jdbc-url", shared.jdbcUrl(),
                "--jdbc-user", shared.jdbcUser(), "--data-dir", dir.resolve("forked").toString(),
                "--topic", topic, "--group", group, "--instance-id", group, "--pause-after-db-commit-ms", String.valueOf(pauseMs)));
        if (shared.jdbcPassword() != null) {
            cmd.add("--jdbc-password=" + shared.jdbcPassword());
        }
        if (untilCaughtUp) {
            cmd.add("--until-caught-up");
        }
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("forked-ingester-" + System.nanoTime() + ".err").toFile()).start();
        forked.add(p);
        return p;
    }

    @Test
    void ingesterKilledBetweenDbCommitAndOffsetCommitLosesAndDoublesNothing() throws Exception {
        String topic = "fault.kill";
        InfraConfig shared = a.infra().sharedConfig().withTopic(topic);
        Infra.createTopics(shared.kafkaBootstrap(), shared);
        Annotator ann = a.addAnnotator(Fixtures.uniqueName("kill"), "annotator").annotator();
        int n = 3000;
        List<Long> items = assignedItems(ann, n);
        Set<UUID> sent = new HashSet<>();
        try (RankingProducer p = new RankingProducer(shared.kafkaBootstrap(), topic, java.util.Map.of(), a.signing())) {
            List<java.util.concurrent.CompletableFuture<?>> fs = new ArrayList<>();
            for (long item : items) {
                RankingEvent e = new RankingEvent(UUID.randomUUID(), item, ann.id(), List.of(1, 0), List.of(), false,
                        List.of(), "api", Instant.now());
                sent.add(e.eventId());
                claim(e);
                fs.add(p.send(e));
            }
            for (var f : fs) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
        // first ingester: batches of <= 500, sleeping 3 s after each DB commit; SIGKILL right after the first commit
        Process first = forkIngester(shared, topic, "fault-kill", 3000, false);
        int firstInserted;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(first.getInputStream(), StandardCharsets.UTF_8))) {
            String line = r.readLine();
            while (line != null && line.startsWith("db_writing")) {
                line = r.readLine();
            }
            assertTrue(line != null && line.startsWith("db_committed"), "forked ingester said: " + line);
            first.destroyForcibly();
            first.waitFor(30, TimeUnit.SECONDS);
            firstInserted = Integer.parseInt(line.replaceAll(".*inserted=(\\d+).*", "$1"));
        }
        int afterKill = storedIds(ann).size();
        assertEquals(firstInserted, afterKill);
        assertTrue(afterKill > 0 && afterKill < n, "killed mid-stream: " + afterKill + " of " + n + " rows");

        // restart: it must re-read the uncommitted batch, insert only what is missing, and finish the rest
        Process second = forkIngester(shared, topic, "fault-kill", 0, true);
        long records = 0;
        long inserted = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(second.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("db_committed")) {
                    records += Long.parseLong(line.replaceAll(".*records=(\\d+).*", "$1"));
                    inserted += Long.parseLong(line.replaceAll(".*inserted=(\\d+).*", "$1"));
                }
            }
        }
        assertTrue(second.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, second.exitValue());
        assertEquals(n, records, "the restarted ingester re-reads from the last committed offset (0)");
        assertEquals(n - afterKill, inserted, "the redelivered batch makes no second row");
        Set<UUID> stored = storedIds(ann);
        assertEquals(sent, stored);
        assertEquals(n, Fixtures.count(a.infra().dataSource(), "SELECT count(*) FROM ranking_events WHERE annotator_id = ?", ann.id()));
    }

    @Test
    void ingesterKilledInsideTheDbTransactionLeavesNoPartialBatch() throws Exception {
        String topic = "fault.kill-tx";
        InfraConfig shared = a.infra().sharedConfig().withTopic(topic);
        Infra.createTopics(shared.kafkaBootstrap(), shared);
        Annotator ann = a.addAnnotator(Fixtures.uniqueName("killtx"), "annotator").annotator();
        int n = 2000;
        Set<UUID> sent = new HashSet<>();
        try (RankingProducer p = new RankingProducer(shared.kafkaBootstrap(), topic, java.util.Map.of(), a.signing())) {
            List<java.util.concurrent.CompletableFuture<?>> fs = new ArrayList<>();
            for (long item : assignedItems(ann, n)) {
                RankingEvent e = new RankingEvent(UUID.randomUUID(), item, ann.id(), List.of(0, 1), List.of(), false,
                        List.of(), "api", Instant.now());
                sent.add(e.eventId());
                claim(e);
                fs.add(p.send(e));
            }
            for (var f : fs) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
        // rows staged and inserted, transaction open for 5 s: SIGKILL now
        Process first = forkIngester(shared, topic, "fault-kill-tx", 0, 5000, false);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(first.getInputStream(), StandardCharsets.UTF_8))) {
            String line = r.readLine();
            assertTrue(line != null && line.startsWith("db_writing") && !line.endsWith("rows=0"), "forked ingester said: " + line);
            first.destroyForcibly();
            first.waitFor(30, TimeUnit.SECONDS);
        }
        assertEquals(0, storedIds(ann).size(), "an uncommitted batch leaves nothing behind");
        Process second = forkIngester(shared, topic, "fault-kill-tx", 0, 0, true);
        second.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
        assertTrue(second.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, second.exitValue());
        assertEquals(sent, storedIds(ann));
    }

    @Test
    void brokerRestartedMidStreamLosesAndDoublesNothing() throws Exception {
        Annotator ann = a.addAnnotator(Fixtures.uniqueName("restart"), "annotator").annotator();
        int n = 1500;
        List<Long> items = assignedItems(ann, n);
        a.startIngester(Ingester.Options.defaults());
        Set<UUID> accepted = ConcurrentHashMap.newKeySet();
        List<String> refused = new ArrayList<>();
        AtomicInteger done = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<?>> fs = new ArrayList<>();
        for (long item : items) {
            fs.add(pool.submit(() -> {
                SubmitOutcome o = a.submit(ann, Submission.ranked(item, List.of(0, 1)), "api");
                if (o instanceof SubmitOutcome.Accepted acc) {
                    accepted.add(acc.eventId());
                } else {
                    synchronized (refused) {
                        refused.add(o.toString());
                    }
                }
                done.incrementAndGet();
            }));
        }
        while (done.get() < n / 4) {
            Thread.sleep(10);
        }
        int before = done.get();
        a.infra().embeddedKafka().restart();
        for (Future<?> f : fs) {
            f.get(180, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertTrue(before < n, "the restart happened mid-stream");
        assertEquals(List.of(), refused, "submissions waited for the broker instead of failing");
        assertEquals(n, accepted.size());
        a.ingestUntilCaughtUp(Duration.ofSeconds(120));
        assertEquals(accepted, storedIds(ann));
        assertEquals(n, Fixtures.count(a.infra().dataSource(), "SELECT count(*) FROM ranking_events WHERE annotator_id = ?", ann.id()));
        // and the path still works after the restart
        long extra = assignedItems(ann, 1).get(0);
        assertInstanceOf(SubmitOutcome.Accepted.class, a.submit(ann, Submission.ranked(extra, List.of(1, 0))));
    }

    /**
     * A second ingester joins the group mid-stream (cooperative-sticky: the first keeps half its partitions): every
     * event stored once, none refused, both did work, and the revoked batch in flight was committed before the
     * hand-over, so at most one batch is read twice.
     */
    @Test
    void ingesterJoiningMidStreamHandsOverCleanly() throws Exception {
        String topic = "fault.rebalance";
        InfraConfig tc = a.infra().config().withTopic(topic).withPartitions(4);
        Infra.createTopics(a.infra().kafkaBootstrap(), tc);
        Annotator ann = a.addAnnotator(Fixtures.uniqueName("rebalance"), "annotator").annotator();
        int n = 3000;
        List<Long> items = assignedItems(ann, n);
        try (RankingProducer p = new RankingProducer(a.infra().kafkaBootstrap(), topic, java.util.Map.of(), a.signing())) {
            List<java.util.concurrent.CompletableFuture<?>> fs = new ArrayList<>();
            for (long item : items) {
                RankingEvent e = new RankingEvent(UUID.randomUUID(), item, ann.id(), List.of(1, 0), List.of(), false,
                        List.of(), "api", Instant.now());
                claim(e);
                fs.add(p.send(e));
            }
            for (var f : fs) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
        // small batches with a pause after each DB commit, so the second one joins while the first is busy
        Ingester.Options opts = new Ingester.Options(1, 100, 150, "rebalance", null, 2);
        try (Ingester first = new Ingester(a.infra().kafkaBootstrap(), topic, tc.deadLetterTopic(),
                a.infra().ingesterDataSource(), opts, null).start()) {
            while (first.stats().inserted() < 300) {
                Thread.sleep(20);
            }
            try (Ingester second = new Ingester(a.infra().kafkaBootstrap(), topic, tc.deadLetterTopic(),
                    a.infra().ingesterDataSource(), opts, null).start()) {
                assertTrue(second.awaitCaughtUp(Duration.ofSeconds(120)), "caught up");
                long records = first.stats().records() + second.stats().records();
                long inserted = first.stats().inserted() + second.stats().inserted();
                assertEquals(n, inserted, "every event inserted once across both");
                assertEquals(0, first.stats().rejected() + second.stats().rejected());
                assertTrue(second.stats().inserted() > 0, "the joiner got partitions: " + second.stats());
                assertTrue(records - n <= opts.maxPollRecords(), "at most one batch read twice: " + records + " records for " + n);
            }
        }
        assertEquals(n, Fixtures.count(a.infra().dataSource(), "SELECT count(*) FROM ranking_events WHERE annotator_id = ?", ann.id()));
    }

    /**
     * Issue 19 (found in review): when the write of the batch in flight fails inside onPartitionsRevoked, the batch is
     * dropped; the partitions this member keeps must go back to their committed offsets, or its next commit moves
     * past rows never written. The rewind, with Kafka's own consumer against the broker: only the retained partition
     * moves, to its committed offset.
     */
    @Test
    void failedWriteAtRevocationRewindsTheRetainedPartitions() throws Exception {
        String topic = "fault.revoke";
        java.util.Map<String, Object> admin = java.util.Map.of("bootstrap.servers", a.infra().kafkaBootstrap());
        try (org.apache.kafka.clients.admin.Admin ad = org.apache.kafka.clients.admin.Admin.create(admin)) {
            ad.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 2, (short) 1))).all().get();
        }
        var p0 = new org.apache.kafka.common.TopicPartition(topic, 0);
        var p1 = new org.apache.kafka.common.TopicPartition(topic, 1);
        try (var prod = new org.apache.kafka.clients.producer.KafkaProducer<String, String>(java.util.Map.of(
                "bootstrap.servers", a.infra().kafkaBootstrap()), new org.apache.kafka.common.serialization.StringSerializer(),
                new org.apache.kafka.common.serialization.StringSerializer())) {
            for (int i = 0; i < 10; i++) {
                prod.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, 0, "k", "v" + i));
                prod.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, 1, "k", "v" + i));
            }
        }
        java.util.Map<String, Object> cp = new java.util.HashMap<>();
        cp.put("bootstrap.servers", a.infra().kafkaBootstrap());
        cp.put("group.id", "rewind-" + UUID.randomUUID());
        cp.put("enable.auto.commit", false);
        try (var c = new org.apache.kafka.clients.consumer.KafkaConsumer<String, String>(cp,
                new org.apache.kafka.common.serialization.StringDeserializer(), new org.apache.kafka.common.serialization.StringDeserializer())) {
            c.assign(List.of(p0, p1));
            c.seekToBeginning(List.of(p0, p1));
            c.commitSync(java.util.Map.of(p0, new org.apache.kafka.clients.consumer.OffsetAndMetadata(3),
                    p1, new org.apache.kafka.clients.consumer.OffsetAndMetadata(4)));
            long deadline = System.currentTimeMillis() + 20_000;
            int seen = 0;
            while (seen < 20 && System.currentTimeMillis() < deadline) {
                seen += c.poll(Duration.ofMillis(200)).count();
            }
            assertEquals(20, seen);
            assertEquals(10, c.position(p0));
            // p1 is revoked (its new owner starts at the committed 4); p0 stays here and must be read again from 3
            assertEquals(Set.of(p0), Ingester.seekRetainedToCommitted(c, List.of(p1)));
            assertEquals(3, c.position(p0));
            assertEquals(10, c.position(p1));
        }
    }
}
