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
 * The COPY text format of ranking rows (what both write paths stream into PostgreSQL) and the way back from a COPY
 * line to its Kafka record. Split out of {@link Ingester} (issue 19).
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

    /** The record key (partition, offset) of a COPY line: its 10th and 11th tab-separated fields. */
    static long lineKey(byte[] line) {
        String[] f = new String(line, StandardCharsets.UTF_8).split("\t", -1);
        return key(Integer.parseInt(f[9]), Long.parseLong(f[10]));
    }

    static String lineEventId(byte[] line) {
        String s = new String(line, StandardCharsets.UTF_8);
        return s.substring(0, s.indexOf('\t'));
    }

    static long key(int partition, long offset) {
        return ((long) partition << 48) ^ offset;
    }

    static final char[] HEX = "0123456789abcdef".toCharArray();

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
