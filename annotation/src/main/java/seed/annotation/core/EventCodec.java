package seed.annotation.core;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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

    /**
     * The one JSON mapper: strict on input (no duplicate keys, nothing after the value), used by the API, the
     * candidate loader and the ingester alike.
     */
    public static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /**
     * The decoder's parser factory: like {@link #JSON}'s but without Jackson's duplicate-key detection, which
     * allocated a HashSet per record (14% of the ingester's allocation). {@link #decode} finds a repeated known field
     * with a bit per field itself, and reads a record with any unknown field again with {@link #JSON}'s strict
     * parser, so every duplicated key is still refused exactly as before.
     */
    private static final com.fasterxml.jackson.core.JsonFactory FAST_PARSERS = com.fasterxml.jackson.core.JsonFactory.builder()
            .disable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private EventCodec() {
    }

    /** Largest record value the decoder reads (a ranking of 100 responses is ~1 KB). */
    public static final int MAX_RECORD_BYTES = 64 * 1024;

    /** Where a ranking may come from; anything else is refused (it is stored and shown, so it must not be free text). */
    public static final java.util.Set<String> SOURCES = java.util.Set.of("web", "api", "import", "synthetic", "bench");

    /** Earliest accepted submitted_at_ms (2020-01-01T00:00:00Z); the latest is now + {@link #MAX_CLOCK_SKEW_MS}. */
    public static final long MIN_SUBMITTED_AT_MS = 1_577_836_800_000L;

    /** How far in the future a submission time may be (clock skew between API hosts and the ingester). */
    public static final long MAX_CLOCK_SKEW_MS = 24L * 3600 * 1000;

    /** Thrown when a record's bytes are not a well-formed ranking event; the message names the field. */
    public static final class DecodeException extends Exception {
        private static final long serialVersionUID = 1L;

        public DecodeException(String message) {
            super(message);
        }
    }

    /**
     * The record's bytes, written field by field with Jackson's streaming generator: the API encodes one per
     * submission, and building an {@code ObjectNode} tree first (as this did) cost a tree of nodes and boxed
     * integers per request for the same bytes.
     */
    public static byte[] encode(RankingEvent e) {
        com.fasterxml.jackson.core.util.ByteArrayBuilder buf = new com.fasterxml.jackson.core.util.ByteArrayBuilder(256);
        try (com.fasterxml.jackson.core.JsonGenerator g = JSON.getFactory().createGenerator(buf)) {
            g.writeStartObject();
            g.writeStringField("event_id", e.eventId().toString());
            g.writeNumberField("item_id", e.itemId());
            g.writeNumberField("annotator_id", e.annotatorId());
            writeInts(g, "ranking", e.ranking());
            g.writeArrayFieldStart("ties");
            for (RankingEvent.Tie tie : e.ties()) {
                g.writeStartArray();
                g.writeNumber(tie.a());
                g.writeNumber(tie.b());
                g.writeEndArray();
            }
            g.writeEndArray();
            g.writeBooleanField("skip", e.skip());
            writeInts(g, "unsafe", e.unsafe());
            g.writeStringField("source", e.source());
            g.writeNumberField("submitted_at_ms", e.submittedAt().toEpochMilli());
            if (e.comment() != null) {
                g.writeStringField("comment", e.comment());
            }
            if (!e.strengths().isEmpty()) {
                writeInts(g, "strengths", e.strengths());
            }
            if (e.supersedes() != null) {
                g.writeStringField("supersedes", e.supersedes().toString());
            }
            g.writeEndObject();
        } catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
        return buf.toByteArray();
    }

    private static void writeInts(com.fasterxml.jackson.core.JsonGenerator g, String field, List<Integer> values)
            throws IOException {
        g.writeArrayFieldStart(field);
        for (int v : values) {
            g.writeNumber(v);
        }
        g.writeEndArray();
    }

    /**
     * Decodes one record with Jackson's streaming parser (the ingester's hot path: several times faster than building
     * a tree). Unknown fields are ignored; every required field is checked and a wrong one is named.
     */
    public static RankingEvent decode(byte[] bytes) throws DecodeException {
        return decode(bytes, true);
    }

    /**
     * @param fast parse without Jackson's duplicate detection (known fields are checked by {@code seen}); on the first
     *             unknown field, start again with {@code fast} false (Jackson's detection, for any nested object too)
     */
    private static RankingEvent decode(byte[] bytes, boolean fast) throws DecodeException {
        if (bytes == null) {
            throw new DecodeException("record has no value");
        }
        if (bytes.length > MAX_RECORD_BYTES) {
            throw new DecodeException("record of " + bytes.length + " bytes is larger than the limit of " + MAX_RECORD_BYTES);
        }
        String eventId = null;
        // the longs are primitives and the lists start empty and shared (RankingEvent copies them anyway): whether a
        // field was there is its bit in {@code seen}, so a record boxes no Long and builds no list it does not hold
        long item = 0;
        long annotator = 0;
        List<Integer> ranking = List.of();
        List<RankingEvent.Tie> ties = List.of();
        Boolean skip = null;
        List<Integer> unsafe = List.of();
        String source = null;
        long at = 0;
        String comment = null;
        String supersedes = null;
        List<Integer> strengths = List.of();
        int seen = 0; // a bit per known field read so far
        try (JsonParser p = (fast ? FAST_PARSERS : JSON.getFactory()).createParser(bytes)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new DecodeException("value is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String f = p.currentName();
                int bit = fieldBit(f);
                if (bit == 0) {
                    if (fast) {
                        return decode(bytes, false);
                    }
                } else if ((seen & bit) != 0) {
                    // Jackson's own exception and words, so the reason reads as it did with its detection
                    throw new com.fasterxml.jackson.core.JsonParseException(p, "Duplicate field '" + f + "'");
                }
                seen |= bit;
                JsonToken t = p.nextToken();
                switch (f) {
                    case "event_id" -> eventId = t == JsonToken.VALUE_STRING ? p.getText() : fail("event_id is missing or not a string");
                    case "item_id" -> item = longValue(p, t, f);
                    case "annotator_id" -> annotator = longValue(p, t, f);
                    case "submitted_at_ms" -> at = longValue(p, t, f);
                    case "ranking" -> ranking = intArray(p, t, f);
                    case "unsafe" -> unsafe = intArray(p, t, f);
                    case "skip" -> skip = t == JsonToken.VALUE_TRUE ? Boolean.TRUE
                            : t == JsonToken.VALUE_FALSE ? Boolean.FALSE : fail("skip is missing or not a boolean");
                    case "source" -> source = t == JsonToken.VALUE_STRING ? p.getText() : fail("source is missing or not a string");
                    case "ties" -> ties = tiesArray(p, t);
                    case "strengths" -> strengths = intArray(p, t, f);
                    case "supersedes" -> supersedes = t == JsonToken.VALUE_STRING ? p.getText()
                            : t == JsonToken.VALUE_NULL ? null : fail("supersedes must be an event id");
                    case "comment" -> comment = t == JsonToken.VALUE_STRING ? p.getText()
                            : t == JsonToken.VALUE_NULL ? null : fail("comment must be a string");
                    default -> p.skipChildren();
                }
            }
            if (p.nextToken() != null) {
                throw new DecodeException("trailing data after the JSON object");
            }
        } catch (IOException ex) {
            String m = jsonProblem(ex);
            throw new DecodeException("malformed JSON: " + (m.length() > 200 ? m.substring(0, 200) + "..." : m));
        }
        if (eventId == null) {
            throw new DecodeException("event_id is missing or not a string");
        }
        UUID id;
        try {
            id = UUID.fromString(eventId);
        } catch (IllegalArgumentException ex) {
            throw new DecodeException("event_id is not a UUID");
        }
        if ((seen & ITEM_BIT) == 0) {
            throw new DecodeException("item_id is missing or not an integer");
        }
        if ((seen & ANNOTATOR_BIT) == 0) {
            throw new DecodeException("annotator_id is missing or not an integer");
        }
        if (skip == null) {
            throw new DecodeException("skip is missing or not a boolean");
        }
        if (source == null) {
            throw new DecodeException("source is missing or not a string");
        }
        if (!SOURCES.contains(source)) {
            throw new DecodeException("source must be one of " + new java.util.TreeSet<>(SOURCES) + ", got "
                    + (source.length() > 40 ? "a " + source.length() + "-character string" : "'" + printable(source) + "'"));
        }
        if (item <= 0 || annotator <= 0) {
            throw new DecodeException((item <= 0 ? "item_id " + item : "annotator_id " + annotator) + " is not a positive id");
        }
        if ((seen & AT_BIT) == 0) {
            throw new DecodeException("submitted_at_ms is missing or not an integer");
        }
        long latest = System.currentTimeMillis() + MAX_CLOCK_SKEW_MS;
        if (at < MIN_SUBMITTED_AT_MS || at > latest) {
            throw new DecodeException("submitted_at_ms " + at + " is outside the accepted range " + MIN_SUBMITTED_AT_MS
                    + ".." + latest + " (2020-01-01 to one day from now)");
        }
        String badComment = RankingEvent.checkComment(comment);
        if (badComment != null) {
            throw new DecodeException(badComment);
        }
        UUID sup = null;
        if (supersedes != null) {
            try {
                sup = UUID.fromString(supersedes);
            } catch (IllegalArgumentException ex) {
                throw new DecodeException("supersedes is not a UUID");
            }
            if (sup.equals(id)) {
                throw new DecodeException("an event cannot supersede itself");
            }
        }
        return new RankingEvent(id, item, annotator, ranking, ties, skip, unsafe, source, Instant.ofEpochMilli(at), comment, sup,
                strengths);
    }

    /** The bit of a known field in {@code decode}'s duplicate check, 0 for a field it does not know. */
    private static int fieldBit(String f) {
        return switch (f) {
            case "event_id" -> 1;
            case "item_id" -> 1 << 1;
            case "annotator_id" -> 1 << 2;
            case "submitted_at_ms" -> 1 << 3;
            case "ranking" -> 1 << 4;
            case "unsafe" -> 1 << 5;
            case "skip" -> 1 << 6;
            case "source" -> 1 << 7;
            case "ties" -> 1 << 8;
            case "strengths" -> 1 << 9;
            case "supersedes" -> 1 << 10;
            case "comment" -> 1 << 11;
            default -> 0;
        };
    }

    private static final int ITEM_BIT = fieldBit("item_id");
    private static final int ANNOTATOR_BIT = fieldBit("annotator_id");
    private static final int AT_BIT = fieldBit("submitted_at_ms");

    private static <T> T fail(String msg) throws DecodeException {
        throw new DecodeException(msg);
    }

    private static long longValue(JsonParser p, JsonToken t, String f) throws IOException, DecodeException {
        if (t != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw new DecodeException(f + " is missing or not an integer");
        }
        return p.getLongValue();
    }

    /** An array of ints; an empty or null one is the shared empty list (most records' ties and unsafe flags). */
    private static List<Integer> intArray(JsonParser p, JsonToken t, String f) throws IOException, DecodeException {
        List<Integer> out = null;
        if (t == JsonToken.VALUE_NULL) {
            return List.of();
        }
        if (t != JsonToken.START_ARRAY) {
            throw new DecodeException(f + " must be an array of integer indices");
        }
        JsonToken x;
        while ((x = p.nextToken()) != JsonToken.END_ARRAY) {
            if (x != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT) {
                throw new DecodeException(f + " must hold integer indices, got " + p.getText());
            }
            if (out == null) {
                out = new ArrayList<>();
            }
            out.add(p.getIntValue());
        }
        return out == null ? List.of() : out;
    }

    private static List<RankingEvent.Tie> tiesArray(JsonParser p, JsonToken t) throws IOException, DecodeException {
        List<RankingEvent.Tie> out = null;
        if (t == JsonToken.VALUE_NULL) {
            return List.of();
        }
        if (t != JsonToken.START_ARRAY) {
            throw new DecodeException("ties must be an array of [i, j] pairs");
        }
        while (p.nextToken() != JsonToken.END_ARRAY) {
            List<Integer> pair = intArray(p, p.currentToken(), "ties");
            if (pair.size() != 2) {
                throw new DecodeException("ties must hold [i, j] pairs of two integer indices, got " + pair);
            }
            if (out == null) {
                out = new ArrayList<>();
            }
            out.add(new RankingEvent.Tie(pair.get(0), pair.get(1)));
        }
        return out == null ? List.of() : out;
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

    /** Control characters shown as '?', so a reason can quote attacker text safely. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        s.codePoints().forEach(c -> sb.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return sb.toString();
    }

    /**
     * A parser failure said for a person: the parser's reason without its internals (the "[Source: REDACTED
     * (`StreamReadFeature...` disabled)...]" excerpt, character codes, Java type names), plus the line and column.
     */
    public static String jsonProblem(IOException ex) {
        String m = firstLine(ex instanceof JsonProcessingException jp ? jp.getOriginalMessage() : ex.getMessage());
        m = m.replaceAll("\\s*\\(?(start marker at )?\\[Source:.*$", "")
                .replaceAll(" \\(code -?\\d+\\)", "")
                .replaceAll("`[\\w.$]+\\.(\\w+)`", "$1")
                .replaceAll("(?i)\\b(com\\.fasterxml|java\\.lang|StreamReadFeature|JsonParser)[\\w.$]*", "")
                .trim();
        if (m.isEmpty()) {
            m = "not valid JSON";
        }
        if (ex instanceof JsonProcessingException jp && jp.getLocation() != null && jp.getLocation().getLineNr() > 0) {
            m += " (line " + jp.getLocation().getLineNr() + ", column " + jp.getLocation().getColumnNr() + ")";
        }
        return m;
    }

    private static final java.util.regex.Pattern EVENT_ID =
            java.util.regex.Pattern.compile("\"event_id\"\\s*:\\s*\"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\"");

    /**
     * The event id of a record the decoder refused, when one can be read from its first 4 KiB, so the refusal row
     * names the event it was about; null otherwise.
     */
    public static String peekEventId(byte[] value) {
        if (value == null) {
            return null;
        }
        var m = EVENT_ID.matcher(new String(value, 0, Math.min(value.length, 4096), java.nio.charset.StandardCharsets.ISO_8859_1));
        return m.find() ? m.group(1).toLowerCase(java.util.Locale.ROOT) : null;
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
