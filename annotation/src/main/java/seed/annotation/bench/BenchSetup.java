package seed.annotation.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import javax.sql.DataSource;
import seed.annotation.core.Catalog;
import seed.annotation.infra.InfraConfig;

/** Bulk fixtures for the benchmarks: many items with assignments, created in a few SQL statements. */
final class BenchSetup {

    private BenchSetup() {
    }

    /**
     * Where a benchmark's services live: the configured ones, or (when neither services nor --data-dir are given)
     * embedded ones in a throwaway folder that closing deletes. Close it after the services it hosts.
     */
    record Workspace(InfraConfig config, Path temp) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            if (temp != null && Files.exists(temp)) {
                try (Stream<Path> files = Files.walk(temp)) {
                    files.sorted(Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
                }
            }
        }
    }

    static Workspace workspace(InfraConfig configured, boolean dataDirGiven, String name) throws IOException {
        if (configured.kafkaBootstrap() != null || configured.jdbcUrl() != null || dataDirGiven) {
            return new Workspace(configured, null);
        }
        Path temp = Files.createTempDirectory("seed-bench-" + name + "-");
        return new Workspace(new InfraConfig(null, null, null, null, temp, configured.topic(), 1), temp);
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

    /** Marks the assignments as claimed by these event ids, as the API does before producing (bulk, one statement). */
    static void claim(DataSource ds, long[] items, long[] annotators, java.util.UUID[] eventIds) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE assignments a SET submitted_event_id = x.e, submitted_at = now()"
                     + " FROM unnest(?::bigint[], ?::bigint[], ?::uuid[]) AS x(i, n, e)"
                     + " WHERE a.item_id = x.i AND a.annotator_id = x.n")) {
            Long[] bi = new Long[items.length];
            Long[] ba = new Long[items.length];
            for (int j = 0; j < items.length; j++) {
                bi[j] = items[j];
                ba[j] = annotators[j];
            }
            ps.setArray(1, c.createArrayOf("int8", bi));
            ps.setArray(2, c.createArrayOf("int8", ba));
            ps.setArray(3, c.createArrayOf("uuid", eventIds));
            ps.executeUpdate();
        }
    }
}
