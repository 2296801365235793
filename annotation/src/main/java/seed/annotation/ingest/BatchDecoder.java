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
     * id; the refusals so far and the offsets to commit; and per part whether every row is its assignment's claimed
     * event ({@code claimed}, null when not looked up: the writer then checks).
     */
    record Prepared(List<ConsumerRecord<String, byte[]>> all, int[] valid, boolean binary, byte[][] copyData,
                    int[][] rowEnds, ConsumerRecord<String, byte[]>[][] rows,
                            long[][] items, long[][] annotators, UUID[][] eventIds, List<Refusals.Reject> rejects,
                            boolean[] claimed, Map<TopicPartition, OffsetAndMetadata> offsets, long decodeNanos) {

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
     * null in tests) one query also reads the missing sizes and whether each row is its assignment's claimed event,
     * so the writers need no query of their own before their COPY. The per-record work lives in small methods:
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
            ConsumerRecord<String, byte[]> r = all.get(i);
            try {
                macs[i] = signing.verify(checkSize(r.value()), r.headers());
                decoded[i] = EventCodec.decode(r.value());
            } catch (EventCodec.DecodeException ex) {
                decoded[i] = null;
                rejects.add(new Refusals.Reject(r, EventCodec.peekEventId(r.value()), ex.getMessage()));
            }
        }
        // -1: the row's claim is not known (no lookup connection); 0: not its assignment's claimed event; 1: claimed
        byte[] claim = lookups == null ? null : lookup(lookups, decoded);
        RankingEvent[] events = new RankingEvent[n];
        int[] okIndex = new int[n];
        int ok = 0;
        for (int i = 0; i < n; i++) {
            RankingEvent e = decoded[i];
            if (e == null) {
                continue;
            }
            String reason = refusal(e, all.get(i).key());
            if (reason != null) {
                rejects.add(new Refusals.Reject(all.get(i), e.eventId().toString(), reason));
            } else {
                events[ok] = e;
                okIndex[ok++] = i;
            }
        }
        int[] valid = new int[parts];
        boolean[] claimed = new boolean[parts];
        java.util.Arrays.fill(claimed, claim != null);
        int[] partOf = new int[ok];
        for (int j = 0; j < ok; j++) {
            int part = (int) Math.floorMod(events[j].itemId(), (long) parts);
            partOf[j] = part;
            valid[part]++;
            if (claim != null && claim[okIndex[j]] != 1) {
                claimed[part] = false;
            }
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
        for (int j = 0; j < ok; j++) {
            int part = partOf[j];
            int row = fill[part]++;
            RankingEvent e = events[j];
            ConsumerRecord<String, byte[]> r = all.get(okIndex[j]);
            appendRow(data[part], text, e, r, macs[okIndex[j]]);
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
        return new Prepared(all, valid, BINARY, copyData, rowEnds, rows, items, annotators, eventIds, rejects,
                claim == null ? null : claimed, offsets, System.nanoTime() - tStart);
    }

    private static byte[] checkSize(byte[] value) throws EventCodec.DecodeException {
        if (value != null && value.length > EventCodec.MAX_RECORD_BYTES) {
            throw new EventCodec.DecodeException("record of " + value.length + " bytes is larger than the limit of "
                    + EventCodec.MAX_RECORD_BYTES);
        }
        return value;
    }

    /** Why a decoded, signed record is refused (its key, its item, the ranking rules), or null when it is valid. */
    private String refusal(RankingEvent e, String key) {
        // the producers key every record by its item; the MAC covers the value only, so a signed record copied
        // under another key would otherwise be absorbed as a redelivery without a trace
        if (!isDecimal(key, e.itemId())) {
            return "record key " + (key == null ? "null" : "'" + EventCodec.firstLine(key.length() > 40
                    ? key.substring(0, 40) + "..." : key) + "'")
                    + " does not match item " + e.itemId() + " (records are keyed by item; a copy under another key is refused)";
        }
        Integer k = itemK.get(e.itemId());
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
     * One query for the whole batch: for each decoded row, whether it is the event its (item, annotator) assignment
     * claimed (1, else 0), and the size of every item not yet cached (put in the cache). It replaces a lookup of item
     * sizes here plus a claim check per part in the writers: one round trip and one pass of index probes instead of
     * two, and the writers' transactions hold only their COPY. Reading the claim before the writer's transaction is
     * as safe as reading it inside it (READ COMMITTED, no lock either way): a claim only moves away from an event that
     * is stored (an edit) or that the ingester group has passed (the reconciler), and neither is true of a row in
     * flight; a row stored meanwhile makes the COPY fail on its unique index and the careful path decides.
     */
    private byte[] lookup(Connection db, RankingEvent[] decoded) throws SQLException {
        int m = 0;
        for (RankingEvent e : decoded) {
            if (e != null) {
                m++;
            }
        }
        byte[] claim = new byte[decoded.length];
        if (m == 0) {
            return claim;
        }
        long[] items = new long[m];
        long[] annotators = new long[m];
        UUID[] ids = new UUID[m];
        boolean[] needK = new boolean[m];
        boolean anyK = false;
        for (int i = 0, j = 0; i < decoded.length; i++) {
            RankingEvent e = decoded[i];
            if (e != null) {
                items[j] = e.itemId();
                annotators[j] = e.annotatorId();
                ids[j] = e.eventId();
                needK[j] = !itemK.containsKey(e.itemId());
                anyK |= needK[j];
                j++;
            }
        }
        // one int4[] in row order: 0 = item unknown, k = claimed, -k = not the claimed event (k of an unknown item
        // is reported whether or not it was needed: the join costs one index probe and the answer stays one array)
        String sql = anyK
                ? "SELECT coalesce(array_agg(CASE WHEN it.k IS NULL THEN 0 WHEN s.submitted_event_id = x.e THEN it.k"
                        + " ELSE -it.k END ORDER BY x.n), '{}') FROM unnest(?::int8[], ?::int8[], ?::uuid[])"
                        + " WITH ORDINALITY AS x(i, a, e, n) LEFT JOIN annotation_items it ON it.id = x.i"
                        + " LEFT JOIN assignments s ON s.item_id = x.i AND s.annotator_id = x.a"
                : "SELECT coalesce(array_agg(CASE WHEN s.submitted_event_id = x.e THEN 1 ELSE -1 END ORDER BY x.n), '{}')"
                        + " FROM unnest(?::int8[], ?::int8[], ?::uuid[]) WITH ORDINALITY AS x(i, a, e, n)"
                        + " LEFT JOIN assignments s ON s.item_id = x.i AND s.annotator_id = x.a";
        Object answer;
        try (PreparedStatement ps = db.prepareStatement(sql)) {
            ps.setObject(1, items);
            ps.setObject(2, annotators);
            ps.setArray(3, db.createArrayOf("uuid", ids));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                answer = rs.getArray(1).getArray();
            }
        }
        if (!db.getAutoCommit()) {
            db.commit();
        }
        Integer[] codes = answer instanceof Integer[] a ? a : box((int[]) answer);
        if (codes.length != m) {
            throw new SQLException("claim lookup answered " + codes.length + " rows for " + m);
        }
        for (int i = 0, j = 0; i < decoded.length; i++) {
            if (decoded[i] == null) {
                continue;
            }
            int code = codes[j];
            if (anyK && needK[j] && code != 0) {
                itemK.put(items[j], Math.abs(code));
            }
            claim[i] = (byte) (code > 0 ? 1 : 0);
            j++;
        }
        return claim;
    }

    private static Integer[] box(int[] v) {
        Integer[] out = new Integer[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }


}
