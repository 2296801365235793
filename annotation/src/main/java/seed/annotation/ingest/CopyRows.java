package seed.annotation.ingest;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import seed.annotation.core.RankingEvent;

/**
 * The COPY formats of ranking rows (what both write paths stream into PostgreSQL): binary (the default) and text.
 * Split out of {@link Ingester} (issue 19).
 */
final class CopyRows {

    private CopyRows() {
    }

    static void copyIn(Connection db, String sql, byte[] data) throws SQLException {
        CopyIn copy = db.unwrap(PGConnection.class).getCopyAPI().copyIn(sql);
        try {
            copy.writeToCopy(data, 0, data.length);
            copy.endCopy();
        } finally {
            if (copy.isActive()) {
                copy.cancelCopy();
            }
        }
    }

    /** A (partition, offset) pair as one map key. */
    static long key(int partition, long offset) {
        return ((long) partition << 48) ^ offset;
    }

    static final char[] HEX = "0123456789abcdef".toCharArray();

    /** COPY ... FROM STDIN (FORMAT binary): signature, flags, header extension length. */
    static final byte[] BINARY_HEADER = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0};

    /** The file trailer of binary COPY: a field count of -1. */
    static final byte[] BINARY_TRAILER = {(byte) 0xff, (byte) 0xff};

    /** PostgreSQL's timestamp epoch (2000-01-01T00:00:00Z) in Unix microseconds. */
    private static final long PG_EPOCH_MICROS = 946_684_800_000_000L;

    /** Type OID of int4, the element type of every int[] column. */
    private static final int INT4_OID = 23;

    /** Columns of a ranking row (the COPY column list of both write paths, and ranking_staging's columns). */
    static final int COLUMNS = 15;

    /**
     * Appends one ranking row in COPY's binary format (the same 15 columns, in the same order, as
     * {@link #appendRow}). PostgreSQL then skips the text parsing of uuids, arrays and timestamps, which is most of
     * what COPY costs it for these rows; the JVM skips building the text.
     */
    static void appendBinaryRow(Bytes b, RankingEvent e, int partition, long offset, byte[] mac) {
        b.i16(COLUMNS);
        uuid(b, e.eventId());
        b.i32(8);
        b.i64(e.itemId());
        b.i32(8);
        b.i64(e.annotatorId());
        intArray(b, e.ranking(), null);
        intArray(b, null, e.ties());
        b.i32(1);
        b.u8(e.skip() ? 1 : 0);
        intArray(b, e.unsafe(), null);
        text(b, e.source());
        b.i32(8);
        // microseconds, rounded as PostgreSQL rounds a text time (decoded events carry milliseconds anyway)
        b.i64(Math.addExact(Math.multiplyExact(e.submittedAt().getEpochSecond(), 1_000_000L),
                (e.submittedAt().getNano() + 500) / 1000) - PG_EPOCH_MICROS);
        b.i32(4);
        b.i32(partition);
        b.i32(8);
        b.i64(offset);
        b.i32(mac.length);
        b.bytes(mac, 0, mac.length);
        if (e.comment() == null) {
            b.i32(-1);
        } else {
            text(b, e.comment());
        }
        if (e.supersedes() == null) {
            b.i32(-1);
        } else {
            uuid(b, e.supersedes());
        }
        intArray(b, e.strengths(), null);
    }

    private static void uuid(Bytes b, java.util.UUID u) {
        b.i32(16);
        b.i64(u.getMostSignificantBits());
        b.i64(u.getLeastSignificantBits());
    }

    /** A text field: UTF-8, NUL (which PostgreSQL text cannot hold) as a space, as the text format does. */
    private static void text(Bytes b, String s) {
        byte[] u = (s.indexOf('\u0000') >= 0 ? s.replace('\u0000', ' ') : s).getBytes(StandardCharsets.UTF_8);
        b.i32(u.length);
        b.bytes(u, 0, u.length);
    }

    /** A one-dimensional int4[] (the ints, or the ties flattened to a, b, a, b ...); empty = no dimensions. */
    private static void intArray(Bytes b, List<Integer> ints, List<RankingEvent.Tie> ties) {
        int n = ints != null ? ints.size() : ties.size() * 2;
        b.i32(n == 0 ? 12 : 20 + 8 * n);
        b.i32(n == 0 ? 0 : 1);
        b.i32(0);
        b.i32(INT4_OID);
        if (n == 0) {
            return;
        }
        b.i32(n);
        b.i32(1);
        if (ints != null) {
            for (int i = 0; i < n; i++) {
                b.i32(4);
                b.i32(ints.get(i));
            }
        } else {
            for (RankingEvent.Tie t : ties) {
                b.i32(4);
                b.i32(t.a());
                b.i32(4);
                b.i32(t.b());
            }
        }
    }

    /** A growable big-endian byte buffer for binary COPY data. */
    static final class Bytes {
        private byte[] buf;
        private int len;

        Bytes(int capacity) {
            buf = new byte[Math.max(64, capacity)];
        }

        int length() {
            return len;
        }

        byte[] array() {
            return buf;
        }

        private void room(int n) {
            if (len + n > buf.length) {
                buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, len + n));
            }
        }

        void u8(int v) {
            room(1);
            buf[len++] = (byte) v;
        }

        void i16(int v) {
            room(2);
            buf[len++] = (byte) (v >> 8);
            buf[len++] = (byte) v;
        }

        void i32(int v) {
            room(4);
            INT.set(buf, len, v);
            len += 4;
        }

        void i64(long v) {
            room(8);
            LONG.set(buf, len, v);
            len += 8;
        }

        void bytes(byte[] b, int from, int n) {
            room(n);
            System.arraycopy(b, from, buf, len, n);
            len += n;
        }

        private static final java.lang.invoke.VarHandle INT =
                java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.BIG_ENDIAN);
        private static final java.lang.invoke.VarHandle LONG =
                java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.BIG_ENDIAN);
    }

    static void appendRow(StringBuilder sb, RankingEvent e, ConsumerRecord<String, byte[]> r, byte[] mac) {
        sb.append(e.eventId()).append('\t').append(e.itemId()).append('\t').append(e.annotatorId()).append('\t');
        intArray(sb, e.ranking());
        sb.append('\t').append('{');
        boolean first = true;
        for (RankingEvent.Tie t : e.ties()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            sb.append(t.a()).append(',').append(t.b());
        }
        sb.append('}').append('\t').append(e.skip() ? 't' : 'f').append('\t');
        intArray(sb, e.unsafe());
        sb.append('\t');
        escape(sb, e.source());
        sb.append('\t').append(e.submittedAt()).append('\t').append(r.partition()).append('\t').append(r.offset()).append('\t');
        // bytea in COPY text format: \\x then hex (the backslash itself escaped)
        sb.append("\\\\x");
        for (byte b : mac) {
            sb.append(HEX[(b >> 4) & 0xf]).append(HEX[b & 0xf]);
        }
        sb.append('\t');
        if (e.comment() == null) {
            sb.append("\\N");
        } else {
            escape(sb, e.comment());
        }
        sb.append('\t');
        if (e.supersedes() == null) {
            sb.append("\\N");
        } else {
            sb.append(e.supersedes());
        }
        sb.append('\t');
        intArray(sb, e.strengths());
        sb.append('\n');
    }

    static void intArray(StringBuilder sb, List<Integer> l) {
        sb.append('{');
        for (int i = 0; i < l.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(l.get(i).intValue());
        }
        sb.append('}');
    }

    static void escape(StringBuilder sb, String s) {
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '\\' -> sb.append("\\\\");
                case '\t' -> sb.append("\\t");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\u0000' -> sb.append(' ');
                default -> sb.append(ch);
            }
        }
    }
}
