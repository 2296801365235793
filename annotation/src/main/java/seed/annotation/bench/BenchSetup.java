package seed.annotation.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import javax.sql.DataSource;
import seed.annotation.core.Catalog;

/** Bulk fixtures for the benchmarks: many items with assignments, created in a few SQL statements. */
final class BenchSetup {

    private BenchSetup() {
    }

    /** Item id range [first, last] of {@code n} new items with K responses, assigned round-robin to the annotators. */
    record Items(long first, long last) {
    }

    static Items items(Catalog catalog, DataSource ds, int n, int k, List<Long> annotators) throws SQLException {
        List<String> responses = new java.util.ArrayList<>();
        for (int i = 0; i < k; i++) {
            responses.add("benchmark response " + i);
        }
        long seed = catalog.createItems(List.of(new Catalog.Candidate("benchmark prompt " + System.nanoTime(), responses,
                "bench", null, null, 1)), 1, "bench").get(0);
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            long first;
            long last;
            try (PreparedStatement ps = c.prepareStatement("WITH ins AS (INSERT INTO annotation_items(candidate_set_id, k,"
                    + " annotators_needed, assigned_count) SELECT (SELECT candidate_set_id FROM annotation_items WHERE id = ?), ?, 1, 1"
                    + " FROM generate_series(1, ?) RETURNING id) SELECT min(id), max(id), count(*) FROM ins")) {
                ps.setLong(1, seed);
                ps.setInt(2, k);
                ps.setInt(3, n);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    first = rs.getLong(1);
                    last = rs.getLong(2);
                    if (last - first + 1 != n) {
                        throw new IllegalStateException("item ids are not contiguous");
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO assignments(item_id, annotator_id)"
                    + " SELECT i, (?::bigint[])[1 + ((i - ?) % ?)] FROM generate_series(?::bigint, ?::bigint) i")) {
                ps.setArray(1, c.createArrayOf("int8", annotators.toArray()));
                ps.setLong(2, first);
                ps.setInt(3, annotators.size());
                ps.setLong(4, first);
                ps.setLong(5, last);
                ps.executeUpdate();
            }
            c.commit();
            return new Items(first, last);
        }
    }
}
