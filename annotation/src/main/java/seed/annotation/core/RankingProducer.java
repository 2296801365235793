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
 * the rankings of one item stay ordered in one partition, each signed (see {@link Signing}) so the ingester knows it
 * came from Seed. Thread-safe; one per process.
 */
public final class RankingProducer implements AutoCloseable {

    /**
     * How long the producer keeps trying to deliver a record (-Dseed.kafka.delivery-timeout-ms, default 30 s). The
     * API waits longer than this for the acknowledgement, and claims are reconciled only after it, so a claim never
     * ends while Kafka may still deliver its event.
     */
    public static long deliveryTimeoutMs() {
        return Long.getLong("seed.kafka.delivery-timeout-ms", 30_000);
    }

    private final KafkaProducer<String, byte[]> producer;
    private final String topic;
    private final Signing signing;

    /** An unsigned producer (its records are refused by the ingester; for tests of exactly that). */
    public RankingProducer(String bootstrap, String topic) {
        this(bootstrap, topic, Map.of(), null);
    }

    public RankingProducer(String bootstrap, String topic, Map<String, Object> overrides) {
        this(bootstrap, topic, overrides, null);
    }

    /**
     * @param overrides extra producer settings (SASL/TLS client settings, tuning)
     * @param signing   keys to sign records with, or null for unsigned records
     */
    public RankingProducer(String bootstrap, String topic, Map<String, ?> overrides, Signing signing) {
        this.signing = signing;
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        // 1 ms: on a quiet 2-core machine at 1,000 submissions/s (bench submit, 60 s warm-up, the embedded broker's 2
        // request handlers) 1 ms gave p50 1.7 ms, p99 6.4 ms and 0.54 ms of server CPU per submission; 5 ms gave p50
        // 4.7 ms, p99 11.2 ms, 0.61 ms (fewer, larger produce requests did not save measurable CPU there, though under
        // a shared machine's load they cut the producer's and broker's context switches about threefold);
        // -Dseed.producer.linger.ms overrides it
        p.put(ProducerConfig.LINGER_MS_CONFIG, Integer.getInteger("seed.producer.linger.ms", 1));
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        // no compression by default: a submission's batch is one or two ~300-byte records, which lz4 does not shrink,
        // while every batch allocated lz4's two 64 KiB buffers (the request path's largest allocation, measured) and
        // the broker decompressed it to validate; -Dseed.producer.compression (lz4, zstd, ...) for bulk producers
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, System.getProperty("seed.producer.compression", "none"));
        long delivery = deliveryTimeoutMs();
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) delivery);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.max(1000, Math.min(10_000, delivery / 3)));
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "seed-rankings-producer");
        p.putAll(overrides);
        this.producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        this.topic = topic;
    }

    /** Sends the event; the future completes once every in-sync replica has it. */
    public CompletableFuture<RecordMetadata> send(RankingEvent e) {
        return sendSigned(Long.toString(e.itemId()), EventCodec.encode(e), Signing.keyFor(e.source()));
    }

    /** Sends raw bytes unsigned (the bad-record tests use this). */
    public CompletableFuture<RecordMetadata> sendRaw(String key, byte[] value) {
        return send(new ProducerRecord<>(topic, key, value));
    }

    /** Sends raw bytes signed with the named key (the benchmarks; tests of content the ingester must refuse). */
    public CompletableFuture<RecordMetadata> sendSigned(String key, byte[] value, String keyName) {
        ProducerRecord<String, byte[]> r = new ProducerRecord<>(topic, key, value);
        if (signing != null) {
            signing.sign(keyName, value, r.headers());
        }
        return send(r);
    }

    private CompletableFuture<RecordMetadata> send(ProducerRecord<String, byte[]> r) {
        CompletableFuture<RecordMetadata> f = new CompletableFuture<>();
        producer.send(r, (md, ex) -> {
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
