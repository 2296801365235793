package seed.workflows.lineage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import javax.sql.DataSource;

/**
 * The ledger in PostgreSQL ({@code V10__lineage.sql}): appends hash-chained, signed records and reads them back.
 * Appends run as the {@code seed_api} role (INSERT and SELECT only on lineage) and under a transaction-scoped advisory lock, so
 * concurrent recorders, in this JVM or others, extend one gap-free chain.
 */
public final class LineageStore {

    /** Key of the advisory lock that serialises appends (any constant unique to Seed's lineage). */
    private static final long APPEND_LOCK = 0x5eed_11e4_a9e0L;
    /** The role appends run as: Seed's application role (V4), granted only INSERT and SELECT on lineage (V10). */
    public static final String APP_ROLE = "seed_api";

    private final DataSource ds;

    public LineageStore(DataSource ds) {
        this.ds = ds;
    }

    public DataSource dataSource() {
        return ds;
    }

    /** Records a public key (idempotent). */
    public void registerKey(String keyId, String publicKeyBase64) {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try {
                asAppRole(c);
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO lineage_keys(key_id, algorithm, public_key)"
                        + " VALUES (?, 'Ed25519', ?) ON CONFLICT (key_id) DO NOTHING")) {
                    ps.setString(1, keyId);
                    ps.setString(2, publicKeyBase64);
                    ps.executeUpdate();
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("lineage: registering signing key " + keyId + ": " + e.getMessage(), e);
        }
    }

    /**
     * Appends one record: takes the append lock, reads the chain head, builds the canonical body with the next seq
     * and the head's hash ({@code bodyFor}), hashes and signs it, inserts it and commits.
     */
    public LineageRecord append(LineageRecord.Event event, TaskRunRecord run, SigningKey key,
            Function<Head, Map<String, Object>> bodyFor) {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try {
                asAppRole(c);
                try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
                    lock.setLong(1, APPEND_LOCK);
                    lock.execute();
                }
                Head head = head(c);
                Map<String, Object> body = new LinkedHashMap<>(bodyFor.apply(head));
                String text = CanonicalJson.write(body);
                LineageRecord r = new LineageRecord(head.nextSeq(), event, run.executionId(), run.taskRunId(),
                        run.stage(), text, head.sha256(), CanonicalJson.sha256(text), key.keyId(), key.sign(text));
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO lineage_records(seq, event, execution_id,"
                        + " task_run_id, stage, body, prev_sha256, sha256, key_id, signature) VALUES (?,?,?,?,?,?,?,?,?,?)")) {
                    ps.setLong(1, r.seq());
                    ps.setString(2, r.event().name());
                    ps.setString(3, r.executionId());
                    ps.setString(4, r.taskRunId());
                    ps.setString(5, r.stage());
                    ps.setString(6, r.body());
                    ps.setString(7, r.prevSha256());
                    ps.setString(8, r.sha256());
                    ps.setString(9, r.keyId());
                    ps.setString(10, r.signature());
                    ps.executeUpdate();
                }
                c.commit();
                return r;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("lineage: appending " + event + " of task run " + run.taskRunId() + " ("
                    + run.stage() + "): " + e.getMessage(), e);
        }
    }

    /** The chain head an append extends: the next seq, the previous record's hash, and the time of recording. */
    public record Head(long nextSeq, String sha256, Instant now) {
    }

    private static Head head(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT seq, sha256 FROM lineage_records ORDER BY seq DESC LIMIT 1")) {
            return rs.next() ? new Head(rs.getLong(1) + 1, rs.getString(2), Instant.now())
                    : new Head(1, LineageRecord.GENESIS, Instant.now());
        }
    }

    /** Drops to the INSERT/SELECT-only role for the rest of this transaction. */
    private static void asAppRole(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL ROLE " + APP_ROLE);
        } catch (SQLException e) {
            throw new SQLException("cannot switch to role " + APP_ROLE + " (grant it to the connecting user: GRANT "
                    + APP_ROLE + " TO <user>): " + e.getMessage(), e.getSQLState(), e);
        }
    }

    /** Every record, in chain order. */
    public List<LineageRecord> all() {
        List<LineageRecord> out = new ArrayList<>();
        try (Connection c = ds.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT seq, event, execution_id, task_run_id, stage, body, prev_sha256,"
                     + " sha256, key_id, signature FROM lineage_records ORDER BY seq")) {
            while (rs.next()) {
                out.add(new LineageRecord(rs.getLong(1), LineageRecord.Event.valueOf(rs.getString(2)), rs.getString(3),
                        rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8),
                        rs.getString(9), rs.getString(10)));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("lineage: reading records: " + e.getMessage(), e);
        }
        return out;
    }

    /**
     * The completed records of one stage whose body names {@code storeKey} as its artifact store address, in chain
     * order (what the store checks a folder against before reusing it).
     */
    public List<LineageRecord> completedAt(String stage, String storeKey) {
        List<LineageRecord> out = new ArrayList<>();
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT seq, event, execution_id, task_run_id, stage, body,"
                     + " prev_sha256, sha256, key_id, signature FROM lineage_records WHERE stage = ? AND event = 'COMPLETE'"
                     + " AND strpos(body, ?) > 0 ORDER BY seq")) {
            ps.setString(1, stage);
            ps.setString(2, "\"store_key\":\"" + storeKey + "\"");
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    LineageRecord r = new LineageRecord(rs.getLong(1), LineageRecord.Event.valueOf(rs.getString(2)),
                            rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7),
                            rs.getString(8), rs.getString(9), rs.getString(10));
                    if (storeKey.equals(r.run().storeKey())) { // the text match only narrows; the parsed body decides
                        out.add(r);
                    }
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("lineage: reading the records of store address " + storeKey + ": "
                    + e.getMessage(), e);
        }
        return out;
    }

    /** The completed records of one stage, in chain order. */
    public List<LineageRecord> completed(String stage) {
        List<LineageRecord> out = new ArrayList<>();
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT seq, event, execution_id, task_run_id, stage, body,"
                     + " prev_sha256, sha256, key_id, signature FROM lineage_records WHERE stage = ? AND event = 'COMPLETE'"
                     + " ORDER BY seq")) {
            ps.setString(1, stage);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new LineageRecord(rs.getLong(1), LineageRecord.Event.valueOf(rs.getString(2)),
                            rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7),
                            rs.getString(8), rs.getString(9), rs.getString(10)));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("lineage: reading the " + stage + " records: " + e.getMessage(), e);
        }
        return out;
    }

    /** Public keys by key id, as recorded in the database. */
    public Map<String, String> keys() {
        Map<String, String> out = new LinkedHashMap<>();
        try (Connection c = ds.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT key_id, public_key FROM lineage_keys ORDER BY created_at")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("lineage: reading signing keys: " + e.getMessage(), e);
        }
        return out;
    }
}
