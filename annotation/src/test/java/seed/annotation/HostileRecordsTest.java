package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.core.Annotator;
import seed.annotation.core.EventCodec;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.Signing;
import seed.annotation.core.Submission;
import seed.annotation.core.SubmitOutcome;
import seed.annotation.infra.InfraConfig;
import seed.annotation.ingest.Ingester;

/**
 * An outsider with write access to the rankings topic, producing with Kafka's own Java client: every hostile record
 * is refused with its reason (in rejected_events and on the dead-letter topic), the ingester keeps running, a forged
 * ranking never wins over the annotator's real one, and a valid submission after them lands within seconds. Also a
 * PostgreSQL outage mid-ingest: nothing lost or doubled, ingestion resumes by itself.
 */
class HostileRecordsTest {

    @TempDir
    static Path dir;
    static Annotation a;
    static KafkaProducer<String, byte[]> raw;

    @BeforeAll
    static void start() {
        a = Annotation.start(InfraConfig.embedded(dir.resolve("data")));
        a.startIngester(Ingester.Options.defaults());
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, a.infra().kafkaBootstrap());
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 2 * 1024 * 1024);
        raw = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    @AfterAll
    static void stop() {
        if (raw != null) {
            raw.close();
        }
        if (a != null) {
            a.close();
        }
    }

    static String event(UUID id, long item, long ann, String ranking, String source, long at) {
        return "{\"event_id\":\"" + id + "\",\"item_id\":" + item + ",\"annotator_id\":" + ann + ",\"ranking\":" + ranking
                + ",\"ties\":[],\"skip\":false,\"unsafe\":[],\"source\":\"" + source + "\",\"submitted_at_ms\":" + at + "}";
    }

    /** Produces with Kafka's own client; signed with the API's real key when {@code sign} (an insider's bytes). */
    static void produce(String value, boolean sign) throws Exception {
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        ProducerRecord<String, byte[]> r = new ProducerRecord<>(a.infra().config().topic(), itemKey(value), v);
        if (sign) {
            a.signing().sign(Signing.API_KEY, v, r.headers());
        }
        raw.send(r).get();
    }

    /** The key Seed's producers give a record (its item id), or "k" when the value names none. */
    static String itemKey(String value) {
        var m = java.util.regex.Pattern.compile("\"item_id\":(\\d+)").matcher(value);
        return m.find() ? m.group(1) : "k";
    }

    static long rejectedWith(String reasonPart, long afterId) throws Exception {
        return Fixtures.count(a.infra().dataSource(), "SELECT count(*) FROM rejected_events WHERE reason LIKE ? AND id > ?",
                "%" + reasonPart + "%", afterId);
    }

    @Test
    void hostileRecordsAreRefusedAndIngestionGoesOn() throws Exception {
        var ds = a.infra().dataSource();
        List<Long> items = a.loadCandidates(Fixtures.candidates(dir, 3, 3, null), 1).itemIds();
        Annotator ann = a.addAnnotator(Fixtures.uniqueName("victim"), "annotator").annotator();
        for (long it : items) {
            a.catalog().assign(it, ann.id());
        }
        long before = Fixtures.count(ds, "SELECT coalesce(max(id), 0) FROM rejected_events");
        long now = System.currentTimeMillis();
        long item = items.get(0);

        // 1. a forged ranking for an assignment before the annotator's real submission: unsigned, signed with a key
        //    of the attacker's own, and (as if the API key leaked) signed but not the claimed event
        produce(event(UUID.randomUUID(), item, ann.id(), "[0,1,2]", "web", now), false);
        ProducerRecord<String, byte[]> wrongKey = new ProducerRecord<>(a.infra().config().topic(), Long.toString(item),
                event(UUID.randomUUID(), item, ann.id(), "[0,1,2]", "web", now).getBytes(StandardCharsets.UTF_8));
        new Signing(Map.of("api", new byte[32])).sign("api", wrongKey.value(), wrongKey.headers());
        raw.send(wrongKey).get();
        produce(event(UUID.randomUUID(), item, ann.id(), "[0,1,2]", "web", now), true);
        // 2. content the decoder must refuse, signed so it gets past the signature check
        produce(event(UUID.randomUUID(), items.get(1), ann.id(), "[0,1,2]", "web", 9_000_000_000_000_000L), true);
        produce(event(UUID.randomUUID(), items.get(1), ann.id(), "[0,1,2]", "web", now) + " }}not json{{", true);
        produce(event(UUID.randomUUID(), items.get(1), ann.id(), "[0,1,2]", "x".repeat(921_000), now), true);
        produce(event(UUID.randomUUID(), items.get(1), ann.id(), "[0,1,2]", "w\\u0000eb", now), true);
        produce("{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":" + items.get(1) + ",\"item_id\":" + items.get(2)
                + ",\"annotator_id\":" + ann.id() + ",\"ranking\":[0,1,2],\"skip\":false,\"source\":\"web\",\"submitted_at_ms\":" + now + "}", true);
        produce("{\"pad\":\"" + "y".repeat(1_040_000) + "\"}", false);

        // the real submission after all that, through the API: stored, and the forged ones are not
        SubmitOutcome real = a.submit(ann, Submission.ranked(item, List.of(2, 1, 0)));
        SubmitOutcome.Accepted acc = assertInstanceOf(SubmitOutcome.Accepted.class, real);
        // 3. the real event id again with other content (a replay with an edited ranking)
        produce(event(acc.eventId(), item, ann.id(), "[0,1,2]", "web", now), true);
        // 3b. the API's own record, bytes and signature exactly, copied under another Kafka key and under its own key
        //     (issue 19: the copy under another key left no trace); both are refused with the reason
        ConsumerRecord<String, byte[]> original = readBack(acc.partition(), acc.offset());
        raw.send(new ProducerRecord<>(a.infra().config().topic(), null, "another-key", original.value(), original.headers())).get();
        raw.send(new ProducerRecord<>(a.infra().config().topic(), null, original.key(), original.value(), original.headers())).get();
        // 4. and a valid submission after everything lands within seconds
        SubmitOutcome after = a.submit(ann, Submission.ranked(items.get(2), List.of(0, 2, 1)));
        assertInstanceOf(SubmitOutcome.Accepted.class, after);
        long t0 = System.nanoTime();
        a.ingestUntilCaughtUp(Duration.ofSeconds(30));
        assertTrue((System.nanoTime() - t0) / 1e9 < 30);

        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE item_id = ?", item));
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE item_id = ? AND event_id = ?"
                + " AND ranking = '{2,1,0}'", item, acc.eventId()), "the annotator's real ranking is the stored one");
        assertEquals(0, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE item_id = ?", items.get(1)));
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE item_id = ? AND ranking = '{0,2,1}'", items.get(2)));
        assertEquals(Ingester.State.RUNNING, a.ingester().health().state(), a.ingester().health().toString());

        Map<String, Long> expected = new java.util.LinkedHashMap<>();
        expected.put("record is not signed", 1L);
        expected.put("signature does not match", 1L);
        // "has no claimed submission" or, once the real one claimed it, "not the claimed submission"
        expected.put("was not accepted by the API", 1L);
        expected.put("outside the accepted range", 1L);
        expected.put("malformed JSON", 2L); // trailing text, and the repeated key ("malformed JSON: Duplicate field")
        expected.put("larger than the limit", 2L);
        expected.put("source must be one of", 1L);
        expected.put("Duplicate field", 1L);
        expected.put("already stored with different content", 1L);
        expected.put("record key 'another-key' does not match item " + item, 1L);
        expected.put("replay: event " + acc.eventId() + " is already stored from partition " + acc.partition()
                + " offset " + acc.offset(), 1L);
        for (var e : expected.entrySet()) {
            assertEquals(e.getValue(), rejectedWith(e.getKey(), before), e.getKey());
        }
        assertEquals(12, Fixtures.count(ds, "SELECT count(*) FROM rejected_events WHERE id > ?", before));
        // a decode refusal names the event when its id could be read (the time out of range, the bad source, ...)
        assertEquals(0, Fixtures.count(ds, "SELECT count(*) FROM rejected_events WHERE id > ? AND event_id IS NULL"
                + " AND (reason LIKE '%outside the accepted range%' OR reason LIKE '%source must be one of%')", before));
        // and refusals are counted where an operator looks
        assertTrue(a.ingester().health().rejected() >= 12, a.ingester().health().toString());
        assertTrue(a.ingester().health().lastRejection() != null, a.ingester().health().toString());
        assertEquals(0, Fixtures.count(ds, "SELECT count(*) FROM rejected_events WHERE id > ? AND length(payload) > 70000", before));

        // every refusal is on the dead-letter topic too, the oversized ones cut to fit, reasons capped
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.infra().kafkaBootstrap());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "dlq-reader-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<String> reasons = new ArrayList<>();
        int truncated = 0;
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(a.infra().config().deadLetterTopic()));
            long deadline = System.currentTimeMillis() + 20_000;
            while (reasons.size() < 12 && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    String reason = new String(r.headers().lastHeader("seed.reason").value(), StandardCharsets.UTF_8);
                    assertTrue(reason.length() < 1000, reason);
                    reasons.add(reason);
                    if (r.headers().lastHeader("seed.truncated_from_bytes") != null) {
                        truncated++;
                    }
                }
            }
        }
        assertEquals(12, reasons.size(), reasons.toString());
        assertEquals(2, truncated, "the 921,000-character source and the 1 MB record are cut to fit the dead-letter topic");
    }

    /** The record at a position of the rankings topic, with its headers, read with Kafka's own consumer. */
    static ConsumerRecord<String, byte[]> readBack(int partition, long offset) {
        return readBack(a, partition, offset);
    }

    /** Same, on another test's stack. */
    static ConsumerRecord<String, byte[]> readBack(Annotation a, int partition, long offset) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.infra().kafkaBootstrap());
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            var tp = new org.apache.kafka.common.TopicPartition(a.infra().config().topic(), partition);
            c.assign(List.of(tp));
            c.seek(tp, offset);
            long deadline = System.currentTimeMillis() + 20_000;
            while (System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (r.offset() == offset) {
                        return r;
                    }
                }
            }
        }
        throw new AssertionError("no record at " + partition + "@" + offset);
    }

    /** The database's own guards: append-only events, TRUNCATE refused, CHECKs on what must never be stored. */
    @Test
    void databaseRefusesChangesAndImpossibleRows() throws Exception {
        // the API's role cannot write rankings at all, the ingester's cannot change them
        try (Connection c = a.infra().dataSource().getConnection(); Statement st = c.createStatement()) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class, () -> st.execute(
                    "INSERT INTO ranking_events(event_id, item_id, annotator_id, ranking, ties, skip, unsafe, source,"
                    + " submitted_at, kafka_partition, kafka_offset) VALUES (gen_random_uuid(), 1, 1, '{1,0}', '{}', false,"
                    + " '{}', 'web', now(), 0, 0)"));
            assertEquals("42501", e.getSQLState(), e.getMessage());
        }
        try (Connection c = a.infra().ingesterDataSource().getConnection(); Statement st = c.createStatement()) {
            for (String sql : List.of("DELETE FROM ranking_events", "UPDATE annotation_items SET k = 2", "DELETE FROM assignments",
                    "INSERT INTO annotators(name, role, token_sha256) VALUES ('x', 'operator', repeat('0', 64))")) {
                var e = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class, () -> st.execute(sql), sql);
                assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
            }
        }
        try (Connection c = a.infra().ownerDataSource().getConnection(); Statement st = c.createStatement()) {
            // as the schema owner (the roles Seed works as cannot even try); one row, so the row triggers have something to refuse
            st.execute("INSERT INTO ranking_events(event_id, item_id, annotator_id, ranking, ties, skip, unsafe, source,"
                    + " submitted_at, kafka_partition, kafka_offset) VALUES (gen_random_uuid(), 999999, 999999, '{1,0}', '{}',"
                    + " false, '{}', 'web', now(), 0, 0)");
            for (String sql : List.of("UPDATE ranking_events SET ranking = '{0,1}'", "DELETE FROM ranking_events",
                    "TRUNCATE ranking_events CASCADE", "DELETE FROM rejected_events", "TRUNCATE rejected_events",
                    "TRUNCATE snapshot_members", "TRUNCATE preference_snapshots CASCADE")) {
                var e = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class, () -> st.execute(sql), sql);
                assertTrue(e.getMessage().contains("append-only") || e.getMessage().contains("immutable"), sql + ": " + e.getMessage());
            }
            String cols = "INSERT INTO ranking_events(event_id, item_id, annotator_id, ranking, ties, skip, unsafe, source,"
                    + " submitted_at, kafka_partition, kafka_offset) VALUES (gen_random_uuid(), 1, 1, ";
            for (String bad : List.of("'{1,0}', '{}', true, '{}', 'web', now(), 0, 0)", // skip with a ranking
                    "'{1,0}', '{0}', false, '{}', 'web', now(), 0, 0)", // half a tie
                    "'{1,0}', '{0,5}', false, '{}', 'web', now(), 0, 0)", // tie index out of range
                    "'{1,-1}', '{}', false, '{}', 'web', now(), 0, 0)", // negative index
                    "'{1,0}', '{}', false, '{}', 'forged', now(), 0, 0)", // unknown source
                    "'{1,0}', '{}', false, '{}', 'web', now() + interval '2 days', 0, 0)")) { // from the future
                var e = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class, () -> st.execute(cols + bad), bad);
                assertEquals("23514", e.getSQLState(), bad + ": " + e.getMessage());
            }
        }
    }

    /** PostgreSQL stopped for 10 s mid-ingest, then started: nothing lost or doubled, ingestion resumes by itself. */
    @Test
    void postgresOutageMidIngest() throws Exception {
        var ds = a.infra().dataSource();
        Annotator ann = a.addAnnotator(Fixtures.uniqueName("outage"), "annotator").annotator();
        int n = 600;
        List<Long> items = a.loadCandidates(Fixtures.candidates(dir, n, 2, null), 1).itemIds();
        List<UUID> ids = new ArrayList<>();
        for (long it : items) {
            a.catalog().assign(it, ann.id());
            UUID id = seed.annotation.core.EventIds.next();
            a.catalog().claim(it, ann.id(), id);
            ids.add(id);
        }
        a.ingestUntilCaughtUp(Duration.ofSeconds(30));
        try (var p = new seed.annotation.core.RankingProducer(a.infra().kafkaBootstrap(), a.infra().config().topic(),
                Map.of(), a.signing())) {
            for (int i = 0; i < n; i++) {
                if (i == n / 3) {
                    p.flush();
                    Thread.sleep(500);
                    a.infra().stopEmbeddedPostgres();
                }
                p.send(new RankingEvent(ids.get(i), items.get(i), ann.id(), List.of(1, 0), List.of(), false, List.of(), "api",
                        Instant.now()));
            }
            p.flush();
        }
        long down = System.nanoTime();
        boolean sawRetrying = false;
        while (System.nanoTime() - down < 10_000_000_000L) {
            sawRetrying |= a.ingester().health().state() == Ingester.State.RETRYING;
            Thread.sleep(100);
        }
        assertTrue(sawRetrying, "the ingester reports the outage: " + a.ingester().health());
        assertTrue(a.ingester().health().state().isUp(), "and has not given up: " + a.ingester().health());
        a.infra().startEmbeddedPostgres();
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        assertEquals(n, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE annotator_id = ?", ann.id()));
        assertEquals(n, Fixtures.count(ds, "SELECT count(DISTINCT event_id) FROM ranking_events WHERE annotator_id = ?", ann.id()));
        assertEquals(0, Fixtures.count(ds, "SELECT count(*) FROM rejected_events r JOIN ranking_events e ON e.annotator_id = ?"
                + " AND r.event_id = e.event_id::text", ann.id()), "no redelivered row was refused");
        assertEquals(Ingester.State.RUNNING, a.ingester().health().state());
    }
}
