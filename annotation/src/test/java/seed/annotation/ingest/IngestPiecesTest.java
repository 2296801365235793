package seed.annotation.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;
import seed.annotation.core.EventCodec;
import seed.annotation.core.EventIds;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.Signing;

/**
 * The pieces issue 19 split out of the ingester, each alone and without services: the decoder's refusals (signature,
 * key, content) on Kafka's own record classes, the COPY encoding and its way back to the record, and how refusals are
 * kept (capped reasons, stored payloads, dead-letter records).
 */
class IngestPiecesTest {

    static final Signing SIGNING = new Signing(Map.of(Signing.API_KEY, new byte[32]));

    static ConsumerRecord<String, byte[]> record(long offset, String key, RankingEvent e, boolean sign) {
        byte[] v = EventCodec.encode(e);
        RecordHeaders h = new RecordHeaders();
        if (sign) {
            SIGNING.sign(Signing.API_KEY, v, h);
        }
        return new ConsumerRecord<>("t", 0, offset, 0L, TimestampType.CREATE_TIME, -1, v.length, key, v, h,
                java.util.Optional.empty());
    }

    static RankingEvent event(long item, List<Integer> ranking, List<RankingEvent.Tie> ties) {
        return new RankingEvent(EventIds.next(), item, 7, ranking, ties, false, List.of(), "web", Instant.now(), null);
    }

    @Test
    void decoderRefusesWithReasonsAndEncodesTheRest() throws Exception {
        BatchDecoder d = new BatchDecoder(SIGNING);
        d.remember(5, 3);
        List<ConsumerRecord<String, byte[]>> recs = new ArrayList<>();
        RankingEvent good = event(5, List.of(2, 0, 1), List.of(new RankingEvent.Tie(0, 1)));
        recs.add(record(0, "5", good, true));
        recs.add(record(1, "another-key", event(5, List.of(0, 1, 2), List.of()), true));
        recs.add(record(2, "5", event(5, List.of(0, 1, 2), List.of()), false));
        recs.add(record(3, "5", event(5, List.of(0, 1, 2), List.of(new RankingEvent.Tie(0, 2))), true));
        BatchDecoder.Prepared p = d.prepare(null, new ConsumerRecords<>(Map.of(new TopicPartition("t", 0), recs)), 1);
        assertEquals(1, p.valid()[0]);
        assertEquals(good.eventId(), p.eventIds()[0][0]);
        List<String> reasons = p.rejects().stream().map(Refusals.Reject::reason).toList();
        assertEquals(3, reasons.size(), reasons.toString());
        assertTrue(reasons.get(0).contains("record is not signed"), reasons.toString());
        assertTrue(reasons.get(1).contains("record key 'another-key' does not match item 5"), reasons.toString());
        assertTrue(reasons.get(2).contains("tied responses must be next to each other"), reasons.toString());
        assertEquals(4, p.offsets().get(new TopicPartition("t", 0)).offset());
        // the valid row leads back to its record, and alone it is a whole COPY input (header, one row, trailer)
        assertEquals(recs.get(0), p.rows()[0][0]);
        byte[] row = p.row(0, 0);
        if (p.binary()) {
            assertEquals(p.copyData()[0].length, row.length);
            assertEquals("PGCOPY\n", new String(row, 0, 7, StandardCharsets.ISO_8859_1));
            assertEquals(CopyRows.COLUMNS, ((row[19] & 0xff) << 8) | (row[20] & 0xff));
            assertEquals(-1, (short) (((row[row.length - 2] & 0xff) << 8) | (row[row.length - 1] & 0xff)));
        }
    }

    /** The key name in the header is matched as bytes: each real key verifies, any other name is named back. */
    @Test
    void signaturesNameTheirKeyExactly() throws Exception {
        Signing two = new Signing(Map.of(Signing.API_KEY, new byte[32], Signing.IMPORT_KEY, new byte[] {1, 2, 3}));
        byte[] v = "{}".getBytes(StandardCharsets.UTF_8);
        for (String key : List.of(Signing.API_KEY, Signing.IMPORT_KEY)) {
            RecordHeaders h = new RecordHeaders();
            two.sign(key, v, h);
            assertTrue(java.util.Arrays.equals(two.mac(key, v), two.verify(v, h)), key);
        }
        RecordHeaders wrong = new RecordHeaders();
        two.sign(Signing.IMPORT_KEY, v, wrong);
        wrong.add(Signing.HEADER_KEY, Signing.API_KEY.getBytes(StandardCharsets.UTF_8)); // the last one counts
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(EventCodec.DecodeException.class, () -> two.verify(v, wrong))
                .getMessage().contains("does not match"));
        for (byte[] name : new byte[][] {"apix".getBytes(StandardCharsets.UTF_8), "ap".getBytes(StandardCharsets.UTF_8),
                new byte[0], null}) {
            RecordHeaders h = new RecordHeaders();
            h.add(Signing.HEADER_KEY, name);
            h.add(Signing.HEADER_MAC, two.mac(Signing.API_KEY, v));
            String m = org.junit.jupiter.api.Assertions.assertThrows(EventCodec.DecodeException.class, () -> two.verify(v, h))
                    .getMessage();
            assertTrue(m.contains("signed with an unknown key '" + (name == null ? "" : new String(name, StandardCharsets.UTF_8))
                    + "'"), m);
        }
    }

    @Test
    void recordKeyMustBeTheItemIdExactly() {
        assertTrue(BatchDecoder.isDecimal("5", 5));
        assertTrue(BatchDecoder.isDecimal("9223372036854775807", Long.MAX_VALUE));
        assertTrue(BatchDecoder.isDecimal("1000", 1000));
        for (String other : new String[] {"05", "+5", "50", "", " 5", "5 ", "15", "٥", "5\n"}) {
            assertFalse(BatchDecoder.isDecimal(other, 5), other);
        }
        assertFalse(BatchDecoder.isDecimal(null, 5));
        assertFalse(BatchDecoder.isDecimal("100", 1000));
    }

    @Test
    void copyRowsEscapeTextAndCarryTheEditedEvent() {
        UUID sup = EventIds.next();
        RankingEvent e = new RankingEvent(EventIds.next(), 9, 3, List.of(1, 0), List.of(new RankingEvent.Tie(1, 0)), false,
                List.of(0), "api", Instant.ofEpochMilli(1_700_000_000_000L), "tab\there\\ and\nline", sup);
        StringBuilder sb = new StringBuilder();
        var rec = new ConsumerRecord<String, byte[]>("t", 2, 41, "9", new byte[0]);
        CopyRows.appendRow(sb, e, rec, new byte[32]);
        String[] f = sb.toString().split("\t", -1);
        assertEquals(15, f.length, sb.toString());
        assertEquals("{1,0}", f[3]);
        assertEquals("{1,0}", f[4]);
        assertEquals("tab\\there\\\\ and\\nline", f[12]);
        assertEquals(sup.toString(), f[13]);
        assertEquals("{}\n", f[14]);
    }

    @Test
    void refusalsAreCappedToFitTheirTableAndTopic() {
        assertEquals(Refusals.MAX_REASON_CHARS + 3, Refusals.capReason("x".repeat(5000)).length());
        assertEquals("unknown", Refusals.capReason(null));
        assertEquals("a\\u0000b", Refusals.storedPayload("a\u0000b".getBytes(StandardCharsets.UTF_8)));
        byte[] big = new byte[Refusals.MAX_STORED_PAYLOAD + 10];
        java.util.Arrays.fill(big, (byte) 'y');
        assertTrue(Refusals.storedPayload(big).endsWith("...[" + big.length + " bytes in all]"));
        var r = new Refusals.Reject(new ConsumerRecord<>("t", 0, 3, "k", big), null, "too big");
        var dl = Refusals.deadLetter("t.dlq", r);
        assertEquals(Refusals.MAX_STORED_PAYLOAD, dl.value().length);
        assertEquals(Integer.toString(big.length), new String(dl.headers().lastHeader("seed.truncated_from_bytes").value(),
                StandardCharsets.UTF_8));
        assertEquals("t/0@3", new String(dl.headers().lastHeader("seed.source").value(), StandardCharsets.UTF_8));
        assertNull(dl.headers().lastHeader("seed.nothing"));
    }
}
