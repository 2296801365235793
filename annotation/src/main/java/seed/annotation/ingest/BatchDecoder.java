package seed.annotation.ingest;

import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import seed.annotation.core.EventCodec;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.RankingRules;
import seed.annotation.core.Signing;

/**
 * Turns a polled batch into rows to write: size limit, signature, strict decoding, key and content checks (refusals
 * with their reasons), the item sizes it needs (cached), and the COPY text of the valid rows split into parts by
 * item. Split out of {@link Ingester} (issue 19); it touches the database only to look up unknown items.
 */
final class BatchDecoder {

    private final Signing signing;
    private final ConcurrentHashMap<Long, Integer> itemK = new ConcurrentHashMap<>();

    BatchDecoder(Signing signing) {
        this.signing = signing;
    }

    /** Puts an item's size in the cache (what {@code loadItemK} does from the database; tests use it directly). */
    void remember(long itemId, int k) {
        itemK.put(itemId, k);
    }

    /**
     * COPY's binary format by default: PostgreSQL skips parsing uuids, arrays and timestamps from text, the JVM
     * skips building the text. {@code -Dseed.ingest.copy-format=text} writes the text format (for comparison).
     */
    static final boolean BINARY = !"text".equals(System.getProperty("seed.ingest.copy-format"));

    /**
     * A decoded, validated batch ready to write, per part: the COPY data of the valid rows ({@code binary}: with the
     * binary format's header and trailer), where each row ends in it, each row's record, item, annotator and event
     * id; and the refusals so far and the offsets to commit.
     */
    record Prepared(List<ConsumerRecord<String, byte[]>> all, int[] valid, boolean binary, byte[][] copyData,
                    int[][] rowEnds, ConsumerRecord<String, byte[]>[][] rows,
                            long[][] items, long[][] annotators, UUID[][] eventIds, List<Refusals.Reject> rejects,
                            Map<Long, ConsumerRecord<String, byte[]>> byOffsetKey,
                            Map<TopicPartition, OffsetAndMetadata> offsets, long decodeNanos) {

        /** The options of a COPY of this batch's data. */
        String copyOptions() {
            return binary ? " (FORMAT binary)" : "";
        }

        /** COPY data holding only row {@code i} of a part (for the row-by-row retry). */
        byte[] row(int part, int i) {
            int start = i > 0 ? rowEnds[part][i - 1] : binary ? CopyRows.BINARY_HEADER.length : 0;
            int end = rowEnds[part][i];
            if (!binary) {
                return java.util.Arrays.copyOfRange(copyData[part], start, end);
            }
            CopyRows.Bytes b = new CopyRows.Bytes(end - start + CopyRows.BINARY_HEADER.length + 2);
            b.bytes(CopyRows.BINARY_HEADER, 0, CopyRows.BINARY_HEADER.length);
            b.bytes(copyData[part], start, end - start);
            b.bytes(CopyRows.BINARY_TRAILER, 0, CopyRows.BINARY_TRAILER.length);
            return java.util.Arrays.copyOf(b.array(), b.length());
        }
    }

    /** Decodes and checks a polled batch (item sizes from the cache, misses from {@code lookups}). */
    Prepared prepare(Connection lookups, ConsumerRecords<String, byte[]> recs, int parts) throws SQLException {
        long tStart = System.nanoTime();
        List<ConsumerRecord<String, byte[]>> all = new ArrayList<>(recs.count());
        recs.forEach(all::add);
        List<RankingEvent> events = new ArrayList<>(all.size());
        List<ConsumerRecord<String, byte[]>> okRecs = new ArrayList<>(all.size());
        List<byte[]> okMacs = new ArrayList<>(all.size());
        List<Refusals.Reject> rejects = new ArrayList<>();
        Map<Long, ConsumerRecord<String, byte[]>> byOffsetKey = new HashMap<>();
        List<RankingEvent> decoded = new ArrayList<>(all.size());
        Set<Long> unknown = new HashSet<>();
        List<byte[]> macs = new ArrayList<>(all.size());
        for (ConsumerRecord<String, byte[]> r : all) {
            try {
                if (r.value() != null && r.value().length > EventCodec.MAX_RECORD_BYTES) {
                    throw new EventCodec.DecodeException("record of " + r.value().length
                            + " bytes is larger than the limit of " + EventCodec.MAX_RECORD_BYTES);
                }
                macs.add(signing.verify(r.value(), r.headers()));
                RankingEvent e = EventCodec.decode(r.value());
                decoded.add(e);
                if (!itemK.containsKey(e.itemId())) {
                    unknown.add(e.itemId());
                }
            } catch (EventCodec.DecodeException ex) {
                if (macs.size() < decoded.size() + 1) {
                    macs.add(null);
                }
                decoded.add(null);
                rejects.add(new Refusals.Reject(r, EventCodec.peekEventId(r.value()), ex.getMessage()));
            }
        }
        if (!unknown.isEmpty()) {
            loadItemK(lookups, unknown);
        }
        for (int i = 0; i < all.size(); i++) {
            RankingEvent e = decoded.get(i);
            if (e == null) {
                continue;
            }
            ConsumerRecord<String, byte[]> r = all.get(i);
            Integer k = itemK.get(e.itemId());
            // the producers key every record by its item; the MAC covers the value only, so a signed record copied
            // under another key would otherwise be absorbed as a redelivery without a trace
            String reason = !Long.toString(e.itemId()).equals(r.key())
                    ? "record key " + (r.key() == null ? "null" : "'" + EventCodec.firstLine(r.key().length() > 40
                            ? r.key().substring(0, 40) + "..." : r.key()) + "'")
                            + " does not match item " + e.itemId() + " (records are keyed by item; a copy under another key is refused)"
                    : k == null ? "unknown item " + e.itemId()
                    : RankingRules.check(e.ranking(), e.ties(), e.skip(), e.unsafe(), k);
            if (reason == null) {
                reason = RankingRules.checkStrengths(e.ranking(), e.ties(), e.skip(), e.strengths());
            }
            if (reason != null) {
                rejects.add(new Refusals.Reject(r, e.eventId().toString(), reason));
            } else {
                events.add(e);
                okRecs.add(r);
                okMacs.add(macs.get(i));
                byOffsetKey.put(CopyRows.key(r.partition(), r.offset()), r);
            }
        }
        int[] valid = new int[parts];
        int[] partOf = new int[events.size()];
        for (int i = 0; i < events.size(); i++) {
            int part = (int) Math.floorMod(events.get(i).itemId(), (long) parts);
            partOf[i] = part;
            valid[part]++;
        }
        CopyRows.Bytes[] data = new CopyRows.Bytes[parts];
        int[][] rowEnds = new int[parts][];
        @SuppressWarnings("unchecked")
        ConsumerRecord<String, byte[]>[][] rows = new ConsumerRecord[parts][];
        long[][] items = new long[parts][];
        long[][] annotators = new long[parts][];
        UUID[][] eventIds = new UUID[parts][];
        int[] fill = new int[parts];
        for (int i = 0; i < parts; i++) {
            data[i] = new CopyRows.Bytes(valid[i] * 192 + 32);
            if (BINARY) {
                data[i].bytes(CopyRows.BINARY_HEADER, 0, CopyRows.BINARY_HEADER.length);
            }
            rowEnds[i] = new int[valid[i]];
            rows[i] = new ConsumerRecord[valid[i]];
            items[i] = new long[valid[i]];
            annotators[i] = new long[valid[i]];
            eventIds[i] = new UUID[valid[i]];
        }
        StringBuilder text = BINARY ? null : new StringBuilder(256);
        for (int i = 0; i < events.size(); i++) {
            int part = partOf[i];
            int row = fill[part]++;
            RankingEvent e = events.get(i);
            ConsumerRecord<String, byte[]> r = okRecs.get(i);
            if (BINARY) {
                CopyRows.appendBinaryRow(data[part], e, r.partition(), r.offset(), okMacs.get(i));
            } else {
                text.setLength(0);
                CopyRows.appendRow(text, e, r, okMacs.get(i));
                byte[] line = text.toString().getBytes(StandardCharsets.UTF_8);
                data[part].bytes(line, 0, line.length);
            }
            rowEnds[part][row] = data[part].length();
            rows[part][row] = r;
            items[part][row] = e.itemId();
            annotators[part][row] = e.annotatorId();
            eventIds[part][row] = e.eventId();
        }
        byte[][] copyData = new byte[parts][];
        for (int i = 0; i < parts; i++) {
            if (BINARY) {
                data[i].bytes(CopyRows.BINARY_TRAILER, 0, CopyRows.BINARY_TRAILER.length);
            }
            copyData[i] = java.util.Arrays.copyOf(data[i].array(), data[i].length());
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition tp : recs.partitions()) {
            List<ConsumerRecord<String, byte[]>> l = recs.records(tp);
            offsets.put(tp, new OffsetAndMetadata(l.get(l.size() - 1).offset() + 1));
        }
        return new Prepared(all, valid, BINARY, copyData, rowEnds, rows, items, annotators, eventIds, rejects, byOffsetKey,
                offsets, System.nanoTime() - tStart);
    }

    private void loadItemK(Connection db, Collection<Long> ids) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT id, k FROM annotation_items WHERE id = ANY (?)")) {
            Array arr = db.createArrayOf("int8", ids.toArray());
            ps.setArray(1, arr);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    itemK.put(rs.getLong(1), rs.getInt(2));
                }
            }
        }
        if (!db.getAutoCommit()) {
            db.commit();
        }
    }

}
