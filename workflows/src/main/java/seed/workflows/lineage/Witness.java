package seed.workflows.lineage;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes the chain head to the Kafka topic {@code seed.lineage} after every append: a second append-only log, held
 * by another system, that a database superuser cannot rewrite together with the table. One partition (one total
 * order), retention forever, acks=all with idempotence. Messages are canonical JSON: {@code {"type":"key",...}} once
 * per signing key, then {@code {"type":"record","seq","sha256","prev_sha256","key_id"}} per record.
 */
final class Witness implements AutoCloseable {

    /** The witness topic. */
    static final String TOPIC = "seed.lineage";

    private final KafkaProducer<String, String> producer;
    private final String topic;

    private Witness(KafkaProducer<String, String> producer, String topic) {
        this.producer = producer;
        this.topic = topic;
    }

    /** Connects, creating the topic (1 partition, infinite retention) if it does not exist. */
    static Witness connect(String bootstrap, String topic) {
        ensureTopic(bootstrap, topic);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "seed-lineage-witness");
        return new Witness(new KafkaProducer<>(p), topic);
    }

    private static void ensureTopic(String bootstrap, String topic) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            if (existing.contains(topic)) {
                return;
            }
            int nodes = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).size();
            short rf = (short) Math.min(3, nodes);
            NewTopic nt = new NewTopic(topic, 1, rf).configs(Map.of("retention.ms", "-1", "retention.bytes", "-1",
                    "cleanup.policy", "delete", "min.insync.replicas", String.valueOf(Math.min(2, rf))));
            try {
                admin.createTopics(List.of(nt)).all().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("lineage witness: creating Kafka topic " + topic + " at " + bootstrap + ": " + e, e);
        }
    }

    /** Announces a signing key (idempotent from the reader's point of view). */
    void key(String keyId, String publicKeyBase64) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "key");
        m.put("key_id", keyId);
        m.put("public_key", publicKeyBase64);
        send("key:" + keyId, m);
    }

    /** Witnesses a record (the new chain head); returns once Kafka has acknowledged it. */
    void record(LineageRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "record");
        m.put("seq", r.seq());
        m.put("sha256", r.sha256());
        m.put("prev_sha256", r.prevSha256());
        m.put("key_id", r.keyId());
        send("record:" + r.seq(), m);
    }

    private void send(String key, Map<String, Object> value) {
        try {
            producer.send(new ProducerRecord<>(topic, 0, key, CanonicalJson.write(value))).get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("lineage witness: writing " + key + " to Kafka topic " + topic + ": " + e, e);
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
    }
}
