package seed.annotation.core;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produces ranking events to the rankings topic: acks=all, idempotent (no duplicates from retries), keyed by item so
 * the rankings of one item stay ordered in one partition. Thread-safe; one per process.
 */
public final class RankingProducer implements AutoCloseable {

    private final KafkaProducer<String, byte[]> producer;
    private final String topic;

    public RankingProducer(String bootstrap, String topic) {
        this(bootstrap, topic, Map.of());
    }

    public RankingProducer(String bootstrap, String topic, Map<String, Object> overrides) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        p.put(ProducerConfig.LINGER_MS_CONFIG, Integer.getInteger("seed.producer.linger.ms", 1));
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 30_000);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "seed-rankings-producer");
        p.putAll(overrides);
        this.producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        this.topic = topic;
    }

    /** Sends the event; the future completes once every in-sync replica has it. */
    public CompletableFuture<RecordMetadata> send(RankingEvent e) {
        return sendRaw(Long.toString(e.itemId()), EventCodec.encode(e));
    }

    /** Sends raw bytes (the benchmarks and the bad-record tests use this). */
    public CompletableFuture<RecordMetadata> sendRaw(String key, byte[] value) {
        CompletableFuture<RecordMetadata> f = new CompletableFuture<>();
        producer.send(new ProducerRecord<>(topic, key, value), (md, ex) -> {
            if (ex != null) {
                f.completeExceptionally(ex);
            } else {
                f.complete(md);
            }
        });
        return f;
    }

    public void flush() {
        producer.flush();
    }

    public String topic() {
        return topic;
    }

    @Override
    public void close() {
        producer.close();
    }
}
