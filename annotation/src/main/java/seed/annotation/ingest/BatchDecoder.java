package seed.annotation.ingest;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import seed.annotation.core.BoundedCache;
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

    /**
     * Item sizes kept in memory by default (-Dseed.ingest.item-cache): one entry per item ever ingested grew for ever
     * (a long-running ingester over millions of items); an entry is ~80 bytes, so the default holds ~8 MB.
     */
    static final int DEFAULT_ITEM_CACHE = Integer.getInteger("seed.ingest.item-cache", 100_000);

    private final Signing signing;
    private final BoundedCache<Long, Integer> itemK;

    BatchDecoder(Signing signing) {
        this(signing, DEFAULT_ITEM_CACHE);
    }

    /** @param itemCacheLimit most item sizes kept between batches (at least 1) */
    BatchDecoder(Signing signing, int itemCacheLimit) {
        this.signing = signing;
        this.itemK = new BoundedCache<>(itemCacheLimit);
    }

    /** Puts an item's size in the cache (what {@code itemSizes} does from the database; tests use it directly). */
    void remember(long itemId, int k) {
        itemK.put(itemId, k);
    }

    /** Item sizes held in memory now (the limit at most, give or take writers racing at the moment it is reached). */
    int cachedItems() {
        return itemK.size();
    }

    /**
     * COPY's binary format by default: PostgreSQL skips parsing uuids, arrays and timestamps from text, the JVM
     * skips building the text. {@code -Dseed.ingest.copy-format=text} writes the text format (for comparison).
     */
    static final boolean BINARY = !"text".equals(System.getProperty("seed.ingest.copy-format"));

    /**
     * A decoded, validated batch ready to write, per part: the COPY data of the valid rows ({@code binary}: with the
     * binary format's header and trailer), where each row ends in it, each row's record and event id; the refusals
     * so far and the offsets to commit; and per part whether every row is its assignment's claimed event
     * ({@code claimed}, null when not looked up: the writer then takes the careful path, which checks it itself).
     */
    record Prepared(List<ConsumerRecord<String, byte[]>> all, int[] valid, boolean binary, byte[][] copyData,
                    int[][] rowEnds, ConsumerRecord<String, byte[]>[][] rows, UUID[][] eventIds,
                    List<Refusals.Reject> rejects, boolean[] claimed, Map<TopicPartition, OffsetAndMetadata> offsets,
                    long decodeNanos) {

        /** The options of a COPY of this batch's data. */
        String copyOptions() {
            return binary ? " (FORMAT binary)" : "";
        }

        /** The records of a part's rows by (partition, offset) key: what the careful path's refusals point back to. */
        Map<Long, ConsumerRecord<String, byte[]>> byOffsetKey(int part) {
            Map<Long, ConsumerRecord<String, byte[]>> m = new HashMap<>();
            for (ConsumerRecord<String, byte[]> r : rows[part]) {
                m.put(CopyRows.key(r.partition(), r.offset()), r);
            }
            return m;
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

    /**
     * Decodes and checks a polled batch. Item sizes come from the cache; with {@code lookups} (a database connection,
     * null in tests) the missing sizes are read, and then whether each part's rows are their assignments' claimed
     * events, so the writers' transactions hold only their COPY. The per-record work lives in small methods:
     * the JIT compiles them once, where one big loop body was compiled again and again (on-stack replacement per
     * loop), costing more CPU than the records themselves in a short run.
     */
    Prepared prepare(Connection lookups, ConsumerRecords<String, byte[]> recs, int parts) throws SQLException {
        long tStart = System.nanoTime();
        int n = recs.count();
        List<ConsumerRecord<String, byte[]>> all = new ArrayList<>(n);
        recs.forEach(all::add);
        RankingEvent[] decoded = new RankingEvent[n];
        byte[][] macs = new byte[n][];
        List<Refusals.Reject> rejects = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            decoded[i] = decodeOne(all.get(i), macs, i, rejects);
        }
        Map<Long, Integer> sizes = itemSizes(lookups, decoded);
        RankingEvent[] events = new RankingEvent[n];
        int[] okIndex = new int[n];
        int ok = 0;
        for (int i = 0; i < n; i++) {
            RankingEvent e = decoded[i];
            if (e == null) {
                continue;
            }
            String reason = refusal(e, all.get(i).key(), sizes);
            if (reason != null) {
                rejects.add(new Refusals.Reject(all.get(i), e.eventId().toString(), reason));
            } else {
                events[ok] = e;
                okIndex[ok++] = i;
            }
        }
        int[] valid = new int[parts];
        int[] partOf = new int[ok];
        for (int j = 0; j < ok; j++) {
            int part = (int) Math.floorMod(events[j].itemId(), (long) parts);
            partOf[j] = part;
            valid[part]++;
        }
        boolean[] claimed = lookups == null ? null : claimedParts(lookups, events, ok, parts);
        CopyRows.Bytes[] data = new CopyRows.Bytes[parts];
        int[][] rowEnds = new int[parts][];
        @SuppressWarnings("unchecked")
        ConsumerRecord<String, byte[]>[][] rows = new ConsumerRecord[parts][];
        UUID[][] eventIds = new UUID[parts][];
        int[] fill = new int[parts];
        for (int i = 0; i < parts; i++) {
            data[i] = new CopyRows.Bytes(valid[i] * 256 + 32); // a k=4 row is ~240 bytes
            if (BINARY) {
                data[i].bytes(CopyRows.BINARY_HEADER, 0, CopyRows.BINARY_HEADER.length);
            }
            rowEnds[i] = new int[valid[i]];
            rows[i] = new ConsumerRecord[valid[i]];
            eventIds[i] = new UUID[valid[i]];
        }
        StringBuilder text = BINARY ? null : new StringBuilder(256);
        for (int j = 0; j < ok; j++) {
            int part = partOf[j];
            int row = fill[part]++;
            RankingEvent e = events[j];
            ConsumerRecord<String, byte[]> r = all.get(okIndex[j]);
            appendRow(data[part], text, e, r, macs[okIndex[j]]);
            rowEnds[part][row] = data[part].length();
            rows[part][row] = r;
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
        return new Prepared(all, valid, BINARY, copyData, rowEnds, rows, eventIds, rejects,
                claimed, offsets, System.nanoTime() - tStart);
    }

    /** Size, signature (its MAC into {@code macs[i]}) and strict decoding of one record; null when refused. */
    private RankingEvent decodeOne(ConsumerRecord<String, byte[]> r, byte[][] macs, int i, List<Refusals.Reject> rejects) {
        try {
            macs[i] = signing.verify(checkSize(r.value()), r.headers());
            return EventCodec.decode(r.value());
        } catch (EventCodec.DecodeException ex) {
            rejects.add(new Refusals.Reject(r, EventCodec.peekEventId(r.value()), ex.getMessage()));
            return null;
        }
    }

    private static byte[] checkSize(byte[] value) throws EventCodec.DecodeException {
        if (value != null && value.length > EventCodec.MAX_RECORD_BYTES) {
            throw new EventCodec.DecodeException("record of " + value.length + " bytes is larger than the limit of "
                    + EventCodec.MAX_RECORD_BYTES);
        }
        return value;
    }

    /** Why a decoded, signed record is refused (its key, its item, the ranking rules), or null when it is valid. */
    private static String refusal(RankingEvent e, String key, Map<Long, Integer> sizes) {
        // the producers key every record by its item; the MAC covers the value only, so a signed record copied
        // under another key would otherwise be absorbed as a redelivery without a trace
        if (!isDecimal(key, e.itemId())) {
            return "record key " + (key == null ? "null" : "'" + EventCodec.firstLine(key.length() > 40
                    ? key.substring(0, 40) + "..." : key) + "'")
                    + " does not match item " + e.itemId() + " (records are keyed by item; a copy under another key is refused)";
        }
        Integer k = sizes.get(e.itemId());
        String reason = k == null ? "unknown item " + e.itemId()
                : RankingRules.check(e.ranking(), e.ties(), e.skip(), e.unsafe(), k);
        return reason != null ? reason : RankingRules.checkStrengths(e.ranking(), e.ties(), e.skip(), e.strengths());
    }

    /** Whether {@code key} is exactly {@code Long.toString(value)} for a positive value (without building that string). */
    static boolean isDecimal(String key, long value) {
        if (key == null || value <= 0) {
            return key != null && key.equals(Long.toString(value));
        }
        int i = key.length();
        long v = value;
        do {
            if (--i < 0 || key.charAt(i) != (char) ('0' + v % 10)) {
                return false;
            }
            v /= 10;
        } while (v != 0);
        return i == 0;
    }

    private static void appendRow(CopyRows.Bytes data, StringBuilder text, RankingEvent e, ConsumerRecord<String, byte[]> r,
                                  byte[] mac) {
        if (BINARY) {
            CopyRows.appendBinaryRow(data, e, r.partition(), r.offset(), mac);
        } else {
            text.setLength(0);
            CopyRows.appendRow(text, e, r, mac);
            byte[] line = text.toString().getBytes(StandardCharsets.UTF_8);
            data.bytes(line, 0, line.length);
        }
    }

    /**
     * The sizes of the decoded rows' items, for this batch: from the cache, and (with {@code db}) the missing ones
     * from the database in one query, which then go into the cache. The batch keeps its own map, so a batch with
     * more items than the cache holds never loses a size it has just read (a false "unknown item").
     */
    private Map<Long, Integer> itemSizes(Connection db, RankingEvent[] decoded) throws SQLException {
        Map<Long, Integer> sizes = new HashMap<>();
        java.util.Set<Long> unknown = new java.util.HashSet<>();
        for (RankingEvent e : decoded) {
            if (e != null && !sizes.containsKey(e.itemId())) {
                Integer k = itemK.get(e.itemId());
                if (k != null) {
                    sizes.put(e.itemId(), k);
                } else {
                    unknown.add(e.itemId());
                }
            }
        }
        if (unknown.isEmpty() || db == null) {
            return sizes;
        }
        long[] ids = new long[unknown.size()];
        int j = 0;
        for (long id : unknown) {
            ids[j++] = id;
        }
        // = ANY: one index scan that walks the sorted array (PostgreSQL 17), not a probe per id
        try (PreparedStatement ps = db.prepareStatement("SELECT id, k FROM annotation_items WHERE id = ANY (?)")) {
            ps.setObject(1, ids);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    sizes.put(rs.getLong(1), rs.getInt(2));
                    remember(rs.getLong(1), rs.getInt(2));
                }
            }
        }
        if (!db.getAutoCommit()) {
            db.commit();
        }
        return sizes;
    }

    /**
     * Per part, whether every valid row is the event its (item, annotator) assignment claimed: one query for the
     * batch (index probes; hash and merge joins are off on this connection, see the ingester), where each writer
     * asked for its part inside its own transaction before. Reading the claim before the writer's transaction is as
     * safe as reading it inside it (READ COMMITTED, no lock either way): a claim only moves away from an event that is
     * stored (an edit) or that the ingester group has passed (the reconciler), and neither is true of a row in
     * flight; a row stored meanwhile makes the COPY fail on its unique index and the careful path decides.
     * (Measured: folding the item sizes into this query as per-row subqueries cost PostgreSQL more than both.)
     */
    private static boolean[] claimedParts(Connection db, RankingEvent[] events, int n, int parts) throws SQLException {
        boolean[] claimed = new boolean[parts];
        java.util.Arrays.fill(claimed, true);
        if (n == 0) {
            return claimed;
        }
        long[] items = new long[n];
        long[] annotators = new long[n];
        UUID[] ids = new UUID[n];
        for (int j = 0; j < n; j++) {
            items[j] = events[j].itemId();
            annotators[j] = events[j].annotatorId();
            ids[j] = events[j].eventId();
        }
        // item ids are positive, so % is the floorMod that chose the part
        try (PreparedStatement ps = db.prepareStatement("SELECT x.i % ?, count(*) FROM unnest(?::int8[], ?::int8[],"
                + " ?::uuid[]) AS x(i, a, e) WHERE NOT EXISTS (SELECT 1 FROM assignments s WHERE s.item_id = x.i"
                + " AND s.annotator_id = x.a AND s.submitted_event_id = x.e) GROUP BY 1")) {
            ps.setInt(1, parts);
            ps.setObject(2, items);
            ps.setObject(3, annotators);
            ps.setArray(4, db.createArrayOf("uuid", ids));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    claimed[(int) rs.getLong(1)] = false;
                }
            }
        }
        if (!db.getAutoCommit()) {
            db.commit();
        }
        return claimed;
    }


}
