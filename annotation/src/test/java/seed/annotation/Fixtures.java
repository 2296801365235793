package seed.annotation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/** Small helpers shared by the annotation tests: candidate files and counting rows. */
final class Fixtures {

    private static final AtomicInteger SEQ = new AtomicInteger();

    private Fixtures() {
    }

    /** Writes a candidates JSONL file with {@code n} prompts of {@code k} responses each (unique texts). */
    static Path candidates(Path dir, int n, int k, List<Integer> gold) throws IOException {
        StringBuilder sb = new StringBuilder();
        int base = SEQ.getAndAdd(n);
        for (int i = 0; i < n; i++) {
            sb.append("{\"prompt\": \"Prompt ").append(base + i).append(": say something kind.\", \"responses\": [");
            for (int r = 0; r < k; r++) {
                sb.append(r > 0 ? ", " : "").append("\"response ").append(r).append(" to prompt ").append(base + i).append('"');
            }
            sb.append("], \"checkpoint\": \"runs/sft/ckpt-1\"");
            if (gold != null) {
                sb.append(", \"gold\": ").append(gold);
            }
            sb.append("}\n");
        }
        Path f = dir.resolve("candidates-" + base + ".jsonl");
        Files.writeString(f, sb.toString());
        return f;
    }

    static long count(DataSource ds, String sql, Object... args) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    static String uniqueName(String prefix) {
        return prefix + "-" + SEQ.incrementAndGet() + "-" + System.nanoTime() % 100000;
    }
}
