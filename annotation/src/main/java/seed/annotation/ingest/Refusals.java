package seed.annotation.ingest;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * How a refused record is kept: its reason capped, its payload as stored in {@code rejected_events}, and its
 * dead-letter record. Split out of {@link Ingester} (issue 19) so each piece of ingestion can be read and tested alone.
 */
final class Refusals {

    private Refusals() {
    }

    /** Longest reason stored or sent (reasons may quote record content). */
    static final int MAX_REASON_CHARS = 900;

    /** Longest payload kept in rejected_events (characters) and in the dead-letter record (bytes). */
    static final int MAX_STORED_PAYLOAD = 64 * 1024;

    static String capReason(String r) {
        return r == null ? "unknown" : r.length() <= MAX_REASON_CHARS ? r : r.substring(0, MAX_REASON_CHARS) + "...";
    }

    /** A record refused with the reason. */
    record Reject(ConsumerRecord<String, byte[]> rec, String eventId, String reason) {
        Reject {
            reason = capReason(reason);
        }
    }

    /** The payload as stored in rejected_events: UTF-8 text, NUL escaped, at most MAX_STORED_PAYLOAD characters. */
    static String storedPayload(byte[] value) {
        if (value == null) {
            return "";
        }
        String s = new String(value, 0, Math.min(value.length, MAX_STORED_PAYLOAD + 4), StandardCharsets.UTF_8)
                .replace("\u0000", "\\u0000");
        if (s.length() > MAX_STORED_PAYLOAD || value.length > MAX_STORED_PAYLOAD) {
            s = s.substring(0, Math.min(s.length(), MAX_STORED_PAYLOAD)) + "...[" + value.length + " bytes in all]";
        }
        return s;
    }

    /**
     * The dead-letter record of a refusal: the original key and value (the value cut to MAX_STORED_PAYLOAD bytes,
     * with its full length and SHA-256 in headers) and the reason and origin in headers, so it always fits the
     * topic's record size limit.
     */
    static ProducerRecord<String, byte[]> deadLetter(String dlqTopic, Reject r) {
        byte[] v = r.rec().value();
        ProducerRecord<String, byte[]> pr;
        if (v != null && v.length > MAX_STORED_PAYLOAD) {
            pr = new ProducerRecord<>(dlqTopic, r.rec().key(), java.util.Arrays.copyOf(v, MAX_STORED_PAYLOAD));
            pr.headers().add("seed.truncated_from_bytes", Integer.toString(v.length).getBytes(StandardCharsets.UTF_8));
            pr.headers().add("seed.value_sha256", seed.annotation.core.Tokens.sha256Hex(v).getBytes(StandardCharsets.UTF_8));
        } else {
            pr = new ProducerRecord<>(dlqTopic, r.rec().key(), v);
        }
        pr.headers().add("seed.reason", r.reason().getBytes(StandardCharsets.UTF_8));
        pr.headers().add("seed.source", (r.rec().topic() + "/" + r.rec().partition() + "@" + r.rec().offset())
                .getBytes(StandardCharsets.UTF_8));
        return pr;
    }

}
