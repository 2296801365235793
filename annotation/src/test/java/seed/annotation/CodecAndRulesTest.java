package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import seed.annotation.core.Catalog;
import seed.annotation.core.EventCodec;
import seed.annotation.core.EventIds;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.RankingRules;

/** The wire format and the content rules, without any service: every refusal names what is wrong. */
class CodecAndRulesTest {

    @Test
    void roundTrip() throws Exception {
        RankingEvent e = new RankingEvent(EventIds.next(), 7, 9, List.of(2, 0, 1), List.of(new RankingEvent.Tie(0, 1)),
                false, List.of(2), "web", Instant.ofEpochMilli(1_700_000_000_123L));
        assertEquals(e, EventCodec.decode(EventCodec.encode(e)));
    }

    /**
     * The exact bytes on the topic (field order, compact form, escapes): the streaming encoder writes what the former
     * tree-based one wrote, so records signed before and after the change look alike.
     */
    @Test
    void encodingIsTheWireFormat() throws Exception {
        java.util.UUID id = java.util.UUID.fromString("0190f1e2-3a4b-7c5d-8e6f-0123456789ab");
        java.util.UUID sup = java.util.UUID.fromString("0190f1e2-3a4b-7c5d-8e6f-ba9876543210");
        RankingEvent e = new RankingEvent(id, 7, 9, List.of(2, 0, 1), List.of(new RankingEvent.Tie(0, 1)), false,
                List.of(2), "web", Instant.ofEpochMilli(1_700_000_000_123L), "say \"ok\" \u00e9\n", sup, List.of(0, 3));
        assertEquals("{\"event_id\":\"0190f1e2-3a4b-7c5d-8e6f-0123456789ab\",\"item_id\":7,\"annotator_id\":9,"
                + "\"ranking\":[2,0,1],\"ties\":[[0,1]],\"skip\":false,\"unsafe\":[2],\"source\":\"web\","
                + "\"submitted_at_ms\":1700000000123,\"comment\":\"say \\\"ok\\\" \u00e9\\n\",\"strengths\":[0,3],"
                + "\"supersedes\":\"0190f1e2-3a4b-7c5d-8e6f-ba9876543210\"}",
                new String(EventCodec.encode(e), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(e, EventCodec.decode(EventCodec.encode(e)));
        RankingEvent skip = new RankingEvent(id, 8, 9, List.of(), List.of(), true, List.of(), "import",
                Instant.ofEpochMilli(1_700_000_000_000L));
        assertEquals("{\"event_id\":\"0190f1e2-3a4b-7c5d-8e6f-0123456789ab\",\"item_id\":8,\"annotator_id\":9,"
                + "\"ranking\":[],\"ties\":[],\"skip\":true,\"unsafe\":[],\"source\":\"import\","
                + "\"submitted_at_ms\":1700000000000}", new String(EventCodec.encode(skip), java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void candidateTextWithNulIsRefusedWithTheReason() {
        Catalog.LoadException e = assertThrows(Catalog.LoadException.class, () -> Catalog.parseCandidate(
                "{\"prompt\": \"p\", \"responses\": [\"a\", \"b\\u0000c\"], \"checkpoint\": \"c\"}", "f.jsonl:3"));
        assertTrue(e.getMessage().contains("f.jsonl:3") && e.getMessage().contains("response 1")
                && e.getMessage().contains("NUL"), e.getMessage());
    }

    @Test
    void badRecordsAreNamed() {
        String[][] cases = {
                {"{nope", "malformed JSON"},
                {"[1]", "not a JSON object"},
                {"{\"item_id\":1}", "event_id"},
                {"{\"event_id\":\"x\",\"item_id\":1,\"annotator_id\":1,\"skip\":false,\"source\":\"web\",\"submitted_at_ms\":1}", "not a UUID"},
                {"{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":\"1\",\"annotator_id\":1,\"skip\":false,\"source\":\"web\",\"submitted_at_ms\":1}", "item_id"},
                {"{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":1,\"annotator_id\":1,\"ranking\":[0,\"a\"],\"skip\":false,\"source\":\"web\",\"submitted_at_ms\":1}", "ranking must hold integer"},
                {"{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":1,\"annotator_id\":1,\"ties\":[[0]],\"skip\":false,\"source\":\"web\",\"submitted_at_ms\":1}", "pairs"},
                {"{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":1,\"annotator_id\":1,\"skip\":\"no\",\"source\":\"web\",\"submitted_at_ms\":1}", "skip"},
                {"{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":1,\"annotator_id\":1,\"skip\":false,\"source\":\"web\"}", "submitted_at_ms"},
                // hostile values: a time PostgreSQL cannot store, free-text source, trailing text, a repeated key
                {"{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":1,\"annotator_id\":1,\"skip\":true,\"source\":\"web\",\"submitted_at_ms\":9000000000000000}", "outside the accepted range"},
                {"{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":1,\"annotator_id\":1,\"skip\":true,\"source\":\"web\",\"submitted_at_ms\":-5}", "outside the accepted range"},
                {"{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":1,\"annotator_id\":1,\"skip\":true,\"source\":\"" + "x".repeat(5000) + "\",\"submitted_at_ms\":1700000000000}", "5000-character string"},
                {"{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":1,\"annotator_id\":1,\"skip\":true,\"source\":\"w\\u0000b\",\"submitted_at_ms\":1700000000000}", "source must be one of"},
                {"{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":1,\"annotator_id\":1,\"skip\":true,\"source\":\"web\",\"submitted_at_ms\":1700000000000} }}not json{{", "malformed JSON"},
                {"{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":1,\"item_id\":2,\"annotator_id\":1,\"skip\":true,\"source\":\"web\",\"submitted_at_ms\":1700000000000}", "Duplicate field"},
                {"{\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":-1,\"annotator_id\":1,\"skip\":true,\"source\":\"web\",\"submitted_at_ms\":1700000000000}", "not a positive id"},
                {"{\"pad\":\"" + "x".repeat(EventCodec.MAX_RECORD_BYTES) + "\"}", "larger than the limit"},
        };
        for (String[] c : cases) {
            EventCodec.DecodeException ex = assertThrows(EventCodec.DecodeException.class,
                    () -> EventCodec.decode(c[0].getBytes(StandardCharsets.UTF_8)), c[0]);
            assertTrue(ex.getMessage().contains(c[1]), c[0] + " -> " + ex.getMessage());
        }
    }

    /**
     * A repeated key is refused wherever it is: each known field (the decoder checks those itself, without Jackson's
     * per-record set), an unknown field, a key repeated inside an unknown field's object, and a key repeated after an
     * unknown field; the reason reads as Jackson's did. Valid records with unknown fields still decode.
     */
    @Test
    void repeatedKeysAreRefusedEverywhere() throws Exception {
        String base = "\"event_id\":\"" + UUID.randomUUID() + "\",\"item_id\":1,\"annotator_id\":1,\"ranking\":[1,0],"
                + "\"ties\":[],\"skip\":false,\"unsafe\":[],\"source\":\"web\",\"submitted_at_ms\":1700000000000,"
                + "\"comment\":\"c\",\"strengths\":[1],\"supersedes\":\"" + UUID.randomUUID() + "\"";
        assertEquals(1, EventCodec.decode(("{" + base + "}").getBytes(StandardCharsets.UTF_8)).itemId());
        assertEquals(1, EventCodec.decode(("{\"x\":{\"a\":1,\"b\":[2]}," + base + ",\"y\":3}")
                .getBytes(StandardCharsets.UTF_8)).itemId());
        java.util.List<String> dup = new java.util.ArrayList<>();
        for (String field : base.split(",\"")) {
            String kv = field.startsWith("\"") ? field : "\"" + field;
            dup.add("{" + base + "," + kv + "}");
            dup.add("{" + kv + "," + base + "}");
        }
        dup.add("{\"x\":1," + base + ",\"x\":2}");
        dup.add("{\"x\":{\"a\":1,\"a\":2}," + base + "}");
        dup.add("{" + base + ",\"x\":[{\"a\":1,\"a\":2}]}");
        dup.add("{\"x\":1," + base + ",\"item_id\":2}");
        assertEquals(12 * 2 + 4, dup.size());
        for (String d : dup) {
            EventCodec.DecodeException ex = assertThrows(EventCodec.DecodeException.class,
                    () -> EventCodec.decode(d.getBytes(StandardCharsets.UTF_8)), d);
            assertTrue(ex.getMessage().matches("malformed JSON: Duplicate field '\\w+' \\(line 1, column \\d+\\)"),
                    d + " -> " + ex.getMessage());
        }
    }

    @Test
    void rules() {
        assertNull(RankingRules.check(List.of(1, 0, 2), List.of(new RankingEvent.Tie(0, 2)), false, List.of(0), 3));
        assertNull(RankingRules.check(List.of(), List.of(), true, List.of(1), 3));
        assertTrue(RankingRules.check(List.of(0, 1), List.of(), false, List.of(), 3).contains("permutation"));
        assertTrue(RankingRules.check(List.of(0, 1, 1), List.of(), false, List.of(), 3).contains("repeats index 1"));
        assertTrue(RankingRules.check(List.of(0, 1, 3), List.of(), false, List.of(), 3).contains("out of range"));
        assertTrue(RankingRules.check(List.of(0), List.of(), true, List.of(), 3).contains("empty when skip"));
        assertTrue(RankingRules.check(List.of(0, 1, 2), List.of(new RankingEvent.Tie(0, 1), new RankingEvent.Tie(1, 0)),
                false, List.of(), 3).contains("twice"));
        assertTrue(RankingRules.check(List.of(0, 1, 2), List.of(), false, List.of(4), 3).contains("unsafe index 4"));
    }

    /** Issue 19: preference strengths, one per neighbouring pair (0 exactly for tied pairs), and their margins. */
    @Test
    void strengthsGradeEveryNeighbouringPairOrNone() throws Exception {
        List<RankingEvent.Tie> tie01 = List.of(new RankingEvent.Tie(0, 1));
        assertNull(RankingRules.checkStrengths(List.of(2, 0, 1), tie01, false, List.of()));
        assertNull(RankingRules.checkStrengths(List.of(2, 0, 1), tie01, false, List.of(4, 0)));
        assertTrue(RankingRules.checkStrengths(List.of(2, 0, 1), tie01, false, List.of(4)).contains("one per pair or none"));
        assertTrue(RankingRules.checkStrengths(List.of(2, 0, 1), tie01, false, List.of(4, 3)).contains("but the pair is tied"));
        assertTrue(RankingRules.checkStrengths(List.of(2, 0, 1), List.of(), false, List.of(0, 2)).contains("is not tied"));
        assertTrue(RankingRules.checkStrengths(List.of(2, 0, 1), List.of(), false, List.of(5, 2)).contains("out of range"));
        assertTrue(RankingRules.checkStrengths(List.of(), List.of(), true, List.of(1)).contains("empty when skip"));
        assertEquals(1.0, RankingRules.margin(4), 1e-12);
        assertEquals(0.0, RankingRules.margin(1), 1e-12);
        RankingEvent e = new RankingEvent(EventIds.next(), 7, 9, List.of(2, 0, 1), tie01, false, List.of(), "web",
                java.time.Instant.ofEpochMilli(1_700_000_000_000L), null, null, List.of(4, 0));
        assertEquals(e, EventCodec.decode(EventCodec.encode(e)));
    }

    /** Issue 19: a tie [0,3] on the ranking 0>1>2>3 contradicts it; ties must join neighbours (chains are fine). */
    @Test
    void tiesMustJoinNeighboursInTheRanking() {
        assertTrue(RankingRules.check(List.of(0, 1, 2, 3), List.of(new RankingEvent.Tie(0, 3)), false, List.of(), 4)
                .contains("tie [0,3] joins responses at places 1 and 4 of the ranking; tied responses must be next to each other"));
        assertTrue(RankingRules.check(List.of(3, 1, 0, 2), List.of(new RankingEvent.Tie(3, 0)), false, List.of(), 4)
                .contains("must be next to each other"));
        assertNull(RankingRules.check(List.of(0, 1, 2, 3), List.of(new RankingEvent.Tie(0, 1), new RankingEvent.Tie(2, 1)),
                false, List.of(), 4));
        assertNull(RankingRules.check(List.of(2, 0, 3, 1), List.of(new RankingEvent.Tie(1, 3)), false, List.of(), 4));
        // a = b = c given as all three pairs (as score-derived ties are): consistent
        List<RankingEvent.Tie> all3 = List.of(new RankingEvent.Tie(0, 1), new RankingEvent.Tie(0, 2), new RankingEvent.Tie(1, 2));
        assertNull(RankingRules.check(List.of(0, 1, 2, 3), all3, false, List.of(), 4));
        // a tie split by a swap (scores 0 = 1 > 2, order 0 > 2 > 1): refused, and the filter drops exactly that one
        assertTrue(RankingRules.check(List.of(0, 2, 1), List.of(new RankingEvent.Tie(0, 1)), false, List.of(), 3)
                .contains("must be next to each other"));
        assertEquals(List.of(new RankingEvent.Tie(1, 2)), RankingRules.consistentTies(List.of(0, 2, 1),
                List.of(new RankingEvent.Tie(0, 1), new RankingEvent.Tie(1, 2))));
    }

    @Test
    void eventIdsAreVersion7AndTimeOrdered() throws Exception {
        UUID a = EventIds.next();
        Thread.sleep(2);
        UUID b = EventIds.next();
        assertEquals(7, a.version());
        assertEquals(2, a.variant());
        assertTrue(Long.compareUnsigned(a.getMostSignificantBits(), b.getMostSignificantBits()) < 0);
    }
}
