package seed.annotation.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The Kafka wire format of a {@link RankingEvent} (UTF-8 JSON, snake_case) and its strict decoder: a record that
 * does not decode yields a reason, which the ingester stores with the record in the dead-letter path.
 */
public final class EventCodec {

    public static final ObjectMapper JSON = new ObjectMapper();

    private EventCodec() {
    }

    /** Thrown when a record's bytes are not a well-formed ranking event; the message names the field. */
    public static final class DecodeException extends Exception {
        private static final long serialVersionUID = 1L;

        public DecodeException(String message) {
            super(message);
        }
    }

    public static byte[] encode(RankingEvent e) {
        ObjectNode n = JSON.createObjectNode();
        n.put("event_id", e.eventId().toString());
        n.put("item_id", e.itemId());
        n.put("annotator_id", e.annotatorId());
        ArrayNode r = n.putArray("ranking");
        e.ranking().forEach(r::add);
        ArrayNode t = n.putArray("ties");
        for (RankingEvent.Tie tie : e.ties()) {
            t.addArray().add(tie.a()).add(tie.b());
        }
        n.put("skip", e.skip());
        ArrayNode u = n.putArray("unsafe");
        e.unsafe().forEach(u::add);
        n.put("source", e.source());
        n.put("submitted_at_ms", e.submittedAt().toEpochMilli());
        try {
            return JSON.writeValueAsBytes(n);
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException(ex);
        }
    }

    public static RankingEvent decode(byte[] bytes) throws DecodeException {
        if (bytes == null) {
            throw new DecodeException("record has no value");
        }
        JsonNode n;
        try {
            n = JSON.readTree(bytes);
        } catch (IOException ex) {
            throw new DecodeException("malformed JSON: " + firstLine(ex.getMessage()));
        }
        if (n == null || !n.isObject()) {
            throw new DecodeException("value is not a JSON object");
        }
        UUID id;
        try {
            id = UUID.fromString(text(n, "event_id"));
        } catch (IllegalArgumentException ex) {
            throw new DecodeException("event_id is not a UUID");
        }
        long item = longField(n, "item_id");
        long annotator = longField(n, "annotator_id");
        List<Integer> ranking = ints(n, "ranking");
        List<RankingEvent.Tie> ties = ties(n.get("ties"));
        JsonNode skip = n.get("skip");
        if (skip == null || !skip.isBoolean()) {
            throw new DecodeException("skip is missing or not a boolean");
        }
        List<Integer> unsafe = ints(n, "unsafe");
        String source = text(n, "source");
        long at = longField(n, "submitted_at_ms");
        return new RankingEvent(id, item, annotator, ranking, ties, skip.booleanValue(), unsafe, source,
                Instant.ofEpochMilli(at));
    }

    /** Parses a JSON "ties" value ([[i,j], ...], null or absent = none). */
    public static List<RankingEvent.Tie> ties(JsonNode t) throws DecodeException {
        List<RankingEvent.Tie> out = new ArrayList<>();
        if (t == null || t.isNull()) {
            return out;
        }
        if (!t.isArray()) {
            throw new DecodeException("ties must be an array of [i, j] pairs");
        }
        for (JsonNode p : t) {
            if (!p.isArray() || p.size() != 2 || !p.get(0).canConvertToInt() || !p.get(1).canConvertToInt()
                    || !p.get(0).isIntegralNumber() || !p.get(1).isIntegralNumber()) {
                throw new DecodeException("ties must hold [i, j] pairs of two integer indices, got " + p);
            }
            out.add(new RankingEvent.Tie(p.get(0).intValue(), p.get(1).intValue()));
        }
        return out;
    }

    /** Parses an array of integers; absent or null = empty. */
    public static List<Integer> ints(JsonNode n, String field) throws DecodeException {
        JsonNode a = n.get(field);
        List<Integer> out = new ArrayList<>();
        if (a == null || a.isNull()) {
            return out;
        }
        if (!a.isArray()) {
            throw new DecodeException(field + " must be an array of integer indices");
        }
        for (JsonNode v : a) {
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new DecodeException(field + " must hold integer indices, got " + v);
            }
            out.add(v.intValue());
        }
        return out;
    }

    private static String text(JsonNode n, String field) throws DecodeException {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new DecodeException(field + " is missing or not a string");
        }
        return v.textValue();
    }

    private static long longField(JsonNode n, String field) throws DecodeException {
        JsonNode v = n.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new DecodeException(field + " is missing or not an integer");
        }
        return v.longValue();
    }

    /** First line of a (multi-line) parser message, without Jackson's source excerpt. */
    public static String firstLine(String msg) {
        if (msg == null) {
            return "";
        }
        int nl = msg.indexOf('\n');
        return nl < 0 ? msg : msg.substring(0, nl);
    }
}
