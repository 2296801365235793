package seed.workflows.lineage;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.LinkedHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The witness topic read back in full (no consumer group, nothing committed: reading changes nothing): the witnessed
 * hash of every record by seq, the public key of every announced signing key (shown, never trusted for being
 * announced: anyone who can produce to the topic can announce a key), where the log starts and any gap in its offsets.
 * The recorder's producer is idempotent and not transactional and the topic never expires or compacts, so an intact
 * log starts at offset 0 with no gap; a later start means records were deleted ({@code Admin.deleteRecords}).
 *
 * @param startOffset the first offset still in the log (0 unless records were deleted)
 * @param gaps        "a..b" offset ranges missing between records read
 */
public record WitnessLog(String topic, Map<Long, String> recordSha256, Map<String, String> keys, long startOffset,
        List<String> gaps) {

    /** The topic does not exist: there is nothing to check the database against. */
    public static final class MissingTopic extends RuntimeException {
        private static final long serialVersionUID = 1L;

        MissingTopic(String message) {
            super(message);
        }
    }

    /** The seq of the newest witnessed record, or 0. */
    public long head() {
        return recordSha256.isEmpty() ? 0 : ((TreeMap<Long, String>) recordSha256).lastKey();
    }

    public static WitnessLog read(String bootstrap, String topic, Duration timeout) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis(),
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis()))) {
            Set<String> names = admin.listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!names.contains(topic)) {
                throw new MissingTopic("the lineage witness topic " + topic + " does not exist at Kafka " + bootstrap
                        + ": the chain head cannot be checked (is this the Kafka the recorder wrote to?)");
            }
        } catch (MissingTopic e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("lineage witness: cannot reach Kafka at " + bootstrap + ": " + e, e);
        }
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        TreeMap<Long, String> records = new TreeMap<>();
        Map<String, String> keys = new LinkedHashMap<>();
        List<String> gaps = new java.util.ArrayList<>();
        long startOffset;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp), timeout).get(tp);
            startOffset = consumer.beginningOffsets(List.of(tp), timeout).get(tp);
            long expected = startOffset;
            long deadline = System.nanoTime() + timeout.toNanos();
            while (consumer.position(tp, timeout) < end) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("lineage witness: reading " + topic + " timed out at offset "
                            + consumer.position(tp) + " of " + end);
                }
                for (ConsumerRecord<String, String> m : consumer.poll(Duration.ofMillis(500))) {
                    if (m.offset() != expected) {
                        gaps.add(expected + ".." + (m.offset() - 1));
                    }
                    expected = m.offset() + 1;
                    JsonNode n;
                    try {
                        n = CanonicalJson.read(m.value());
                    } catch (RuntimeException e) {
                        continue; // not Seed's JSON: it witnesses nothing
                    }
                    switch (n.path("type").asText()) {
                        case "record" -> records.putIfAbsent(n.path("seq").asLong(), n.path("sha256").asText());
                        case "key" -> keys.putIfAbsent(n.path("key_id").asText(), n.path("public_key").asText());
                        default -> { } // future message types are not an error
                    }
                }
            }
        }
        return new WitnessLog(topic, records, keys, startOffset, List.copyOf(gaps));
    }
}
