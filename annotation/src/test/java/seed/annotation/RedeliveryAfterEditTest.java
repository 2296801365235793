package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
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
import seed.annotation.core.Submission;
import seed.annotation.core.SubmitOutcome;
import seed.annotation.infra.InfraConfig;
import seed.annotation.ingest.Ingester;

/**
 * A ranking that was stored and then edited (the edit moves the assignment's claim to the new event): Kafka
 * delivering the original record again must be a duplicate, skipped silently, not a refusal "not the claimed
 * submission" (the original was accepted by the API and is stored). Run as an outsider: real Kafka and PostgreSQL,
 * the redelivery made by a consumer group that reads the topic again, the copy made with Kafka's own producer.
 */
class RedeliveryAfterEditTest {

    @TempDir
    static Path dir;
    static Annotation a;

    @BeforeAll
    static void start() {
        a = Annotation.start(InfraConfig.embedded(dir.resolve("data")));
        a.startIngester(Ingester.Options.defaults());
    }

    @AfterAll
    static void stop() {
        if (a != null) {
            a.close();
        }
    }

    @Test
    void redeliveryOfAnEditedRankingIsADuplicateNotARefusal() throws Exception {
        var ds = a.infra().dataSource();
        long item = a.loadCandidates(Fixtures.candidates(dir, 1, 3, null), 1).itemIds().get(0);
        Annotator ann = a.addAnnotator(Fixtures.uniqueName("editor"), "annotator").annotator();
        a.catalog().assign(item, ann.id());
        var v1 = assertInstanceOf(SubmitOutcome.Accepted.class, a.submit(ann, Submission.ranked(item, List.of(0, 1, 2))));
        a.ingestUntilCaughtUp(Duration.ofSeconds(30));
        var v2 = assertInstanceOf(SubmitOutcome.Accepted.class, a.submit(ann,
                new Submission(item, List.of(2, 1, 0), List.of(), false, List.of(), null, v1.eventId())));
        a.ingestUntilCaughtUp(Duration.ofSeconds(30));
        String stored = rankings();
        assertTrue(stored.contains(v1.eventId() + "|{0,1,2}") && stored.contains(v2.eventId() + "|{2,1,0}"), stored);
        assertEquals(0, Fixtures.count(ds, "SELECT count(*) FROM rejected_events"));

        // 1. Kafka delivers both records again at their own positions (what a consumer that crashed before its
        //    offset commit sees): a second ingester in a fresh consumer group reads the topic from the start
        Ingester again = new Ingester(a.infra().kafkaBootstrap(), a.infra().config().kafkaClientProperties(),
                a.infra().config().topic(), a.infra().config().deadLetterTopic(), a.infra().ingesterDataSource(),
                Ingester.Options.defaults().withGroup("redelivery-" + UUID.randomUUID()), null).start();
        try {
            assertTrue(again.awaitCaughtUp(Duration.ofSeconds(30)), again.stats().toString());
        } finally {
            again.close();
        }
        assertEquals(0, Fixtures.count(ds, "SELECT count(*) FROM rejected_events"), rejectReasons());
        assertEquals(0, deadLetters(), "nothing dead-lettered for a redelivery");
        assertEquals(stored, rankings(), "the rankings table is unchanged");

        // 2. the original's bytes and signature copied to the topic with Kafka's own producer (a new position): a
        //    replay, refused with the position it is stored at (as before the edit), never "not the claimed submission"
        ConsumerRecord<String, byte[]> original = HostileRecordsTest.readBack(a, v1.partition(), v1.offset());
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, a.infra().kafkaBootstrap());
        try (KafkaProducer<String, byte[]> raw = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            raw.send(new ProducerRecord<>(a.infra().config().topic(), null, original.key(), original.value(),
                    original.headers())).get();
        }
        a.ingestUntilCaughtUp(Duration.ofSeconds(30));
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM rejected_events"), rejectReasons());
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM rejected_events WHERE reason = ?", "replay: event "
                + v1.eventId() + " is already stored from partition " + v1.partition() + " offset " + v1.offset()), rejectReasons());
        assertEquals(stored, rankings(), "the rankings table is unchanged");
    }

    /** Every stored ranking as "event|ranking|supersedes|partition@offset", in a fixed order. */
    private static String rankings() throws Exception {
        StringBuilder sb = new StringBuilder();
        try (Connection c = a.infra().dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT event_id, ranking::text, supersedes, kafka_partition, kafka_offset"
                     + " FROM ranking_events ORDER BY event_id")) {
            while (rs.next()) {
                sb.append(rs.getString(1)).append('|').append(rs.getString(2)).append('|').append(rs.getString(3))
                        .append('|').append(rs.getInt(4)).append('@').append(rs.getLong(5)).append('\n');
            }
        }
        return sb.toString();
    }

    private static String rejectReasons() throws Exception {
        StringBuilder sb = new StringBuilder();
        try (Connection c = a.infra().dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT reason FROM rejected_events ORDER BY id")) {
            while (rs.next()) {
                sb.append(rs.getString(1)).append('\n');
            }
        }
        return sb.toString();
    }

    /** Records on the dead-letter topic, read from its start with Kafka's own consumer. */
    private static int deadLetters() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.infra().kafkaBootstrap());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "dlq-reader-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        int n = 0;
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(a.infra().config().deadLetterTopic()));
            long deadline = System.currentTimeMillis() + 5_000;
            while (System.currentTimeMillis() < deadline) {
                n += c.poll(Duration.ofMillis(200)).count();
            }
        }
        return n;
    }
}
