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

    /** A decoded, validated batch ready to write: COPY text of the valid rows, the refusals so far, the offsets. */
    record Prepared(List<ConsumerRecord<String, byte[]>> all, int[] valid, byte[][] copyData,
                            long[][] items, long[][] annotators, UUID[][] eventIds, List<Refusals.Reject> rejects,
                            Map<Long, ConsumerRecord<String, byte[]>> byOffsetKey,
                            Map<TopicPartition, OffsetAndMetadata> offsets, long decodeNanos) {
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
        StringBuilder[] sb = new StringBuilder[parts];
        int[] valid = new int[parts];
        for (int i = 0; i < parts; i++) {
            sb[i] = new StringBuilder(events.size() * 128 / parts + 16);
        }
        int[] partOf = new int[events.size()];
        for (int i = 0; i < events.size(); i++) {
            int part = (int) Math.floorMod(events.get(i).itemId(), (long) parts);
            partOf[i] = part;
            CopyRows.appendRow(sb[part], events.get(i), okRecs.get(i), okMacs.get(i));
            valid[part]++;
        }
        long[][] items = new long[parts][];
        long[][] annotators = new long[parts][];
        UUID[][] eventIds = new UUID[parts][];
        int[] fill = new int[parts];
        for (int i = 0; i < parts; i++) {
            items[i] = new long[valid[i]];
            annotators[i] = new long[valid[i]];
            eventIds[i] = new UUID[valid[i]];
        }
        for (int i = 0; i < events.size(); i++) {
            int part = partOf[i];
            items[part][fill[part]] = events.get(i).itemId();
            eventIds[part][fill[part]] = events.get(i).eventId();
            annotators[part][fill[part]++] = events.get(i).annotatorId();
        }
        byte[][] copyData = new byte[parts][];
        for (int i = 0; i < parts; i++) {
            copyData[i] = sb[i].toString().getBytes(StandardCharsets.UTF_8);
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition tp : recs.partitions()) {
            List<ConsumerRecord<String, byte[]>> l = recs.records(tp);
            offsets.put(tp, new OffsetAndMetadata(l.get(l.size() - 1).offset() + 1));
        }
        return new Prepared(all, valid, copyData, items, annotators, eventIds, rejects, byOffsetKey, offsets,
                System.nanoTime() - tStart);
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
