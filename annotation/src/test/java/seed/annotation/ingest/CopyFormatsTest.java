package seed.annotation.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.core.EventIds;
import seed.annotation.core.RankingEvent;
import seed.annotation.infra.Infra;
import seed.annotation.infra.InfraConfig;

/**
 * The ingester writes COPY's binary format: the same rankings written through it and through the text format land in
 * a real PostgreSQL as identical rows (ids, arrays, ties, flags, text with tabs, newlines, backslashes and non-ASCII,
 * times to the microsecond, MACs, NULLs), and a row alone is a whole COPY input.
 */
class CopyFormatsTest {

    @TempDir
    Path dir;

    @Test
    void binaryRowsEqualTextRows() throws Exception {
        List<RankingEvent> events = List.of(
                new RankingEvent(EventIds.next(), 11, 3, List.of(2, 0, 1), List.of(new RankingEvent.Tie(0, 1)), false,
                        List.of(1), "web", Instant.ofEpochMilli(1_700_000_000_123L), "tab\there\\ and\nline é 🙂",
                        EventIds.next(), List.of(4, 0)),
                new RankingEvent(EventIds.next(), 12, 4, List.of(), List.of(), true, List.of(), "import",
                        Instant.ofEpochMilli(1_600_000_000_000L), null, null, List.of()),
                new RankingEvent(EventIds.next(), 13, 5, List.of(0, 1, 2, 3), List.of(new RankingEvent.Tie(1, 2),
                        new RankingEvent.Tie(2, 3)), false, List.of(0, 3), "bench", Instant.ofEpochMilli(System.currentTimeMillis()), "", null, List.of()));
        byte[] mac = new byte[32];
        for (int i = 0; i < mac.length; i++) {
            mac[i] = (byte) (i * 37);
        }
        StringBuilder text = new StringBuilder();
        CopyRows.Bytes binary = new CopyRows.Bytes(16);
        binary.bytes(CopyRows.BINARY_HEADER, 0, CopyRows.BINARY_HEADER.length);
        for (int i = 0; i < events.size(); i++) {
            CopyRows.appendRow(text, events.get(i), new ConsumerRecord<>("t", 2, 40 + i, "k", new byte[0]), mac);
            CopyRows.appendBinaryRow(binary, events.get(i), 2, 40 + i, mac);
        }
        binary.bytes(CopyRows.BINARY_TRAILER, 0, CopyRows.BINARY_TRAILER.length);
        String cols = "event_id, item_id, annotator_id, ranking, ties, skip, unsafe, source, submitted_at, kafka_partition,"
                + " kafka_offset, payload_mac, comment, supersedes, strengths";
        try (Infra infra = Infra.start(InfraConfig.embedded(dir.resolve("data")));
             Connection c = infra.ownerDataSource().getConnection(); Statement st = c.createStatement()) {
            for (String t : new String[] {"copy_text", "copy_binary"}) {
                st.execute("CREATE TEMP TABLE " + t + " (LIKE ranking_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)");
            }
            CopyRows.copyIn(c, "COPY copy_text(" + cols + ") FROM STDIN",
                    text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            CopyRows.copyIn(c, "COPY copy_binary(" + cols + ") FROM STDIN (FORMAT binary)",
                    java.util.Arrays.copyOf(binary.array(), binary.length()));
            assertEquals(3, count(st, "SELECT count(*) FROM copy_binary"));
            assertEquals(0, count(st, "SELECT count(*) FROM (SELECT " + cols + " FROM copy_text EXCEPT SELECT " + cols
                    + " FROM copy_binary) x"));
            assertEquals(0, count(st, "SELECT count(*) FROM (SELECT " + cols + " FROM copy_binary EXCEPT SELECT " + cols
                    + " FROM copy_text) x"));
            assertEquals(1, count(st, "SELECT count(*) FROM copy_binary WHERE comment = 'tab' || chr(9) || 'here\\ and'"
                    + " || chr(10) || 'line é 🙂' AND ties = '{0,1}' AND strengths = '{4,0}'"
                    + " AND submitted_at = to_timestamp(1700000000.123)"));
            assertEquals(events.get(0).supersedes().toString(), string(st, "SELECT supersedes::text FROM copy_binary"
                    + " WHERE item_id = 11"));
        }
    }

    private static long count(Statement st, String sql) throws Exception {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static String string(Statement st, String sql) throws Exception {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
