package seed.workflows.registry;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The model registry in PostgreSQL ({@code V13__model_registry.sql}): aliases ({@code production}, {@code candidate},
 * ...) pointing at checkpoints by SHA-256 and path. The append-only history is the registry: an alias means the
 * checkpoint of its newest row, and every change (promotion, gated candidate, rollback) is a new row with who, why and
 * the evaluation behind it. Appends run as the application role (INSERT and SELECT only) under an advisory lock, so
 * two promotions at once see each other's rows. Lives in {@code workflows}: training code never imports JDBC.
 */
public final class ModelRegistry {

    /** The alias served to users. */
    public static final String PRODUCTION = "production";
    /** The alias of the newest trained policy, whether or not it passed its gates. */
    public static final String CANDIDATE = "candidate";

    private static final long CHANGE_LOCK = 0x5eed_0de1_0013L;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String COLUMNS = "seq, alias, action, sha256, path, previous_sha256, changed_by, reason,"
            + " metrics::text, gates::text, execution_id, lineage_task_run, changed_at";

    /** What a history row did. */
    public enum Action {
        /** the alias now names a checkpoint that passed its gates or an operator chose */
        PROMOTE,
        /** the alias (candidate) names a newly trained checkpoint */
        CANDIDATE,
        /** the alias went back to the checkpoint it named before */
        ROLLBACK
    }

    /** One row of the history: the alias pointed at this checkpoint from {@code changedAt} on. */
    public record Entry(long seq, String alias, Action action, String sha256, String path, String previousSha256,
            String changedBy, String reason, Map<String, Object> metrics, Map<String, Object> gates,
            String executionId, String lineageTaskRun, Instant changedAt) {

        /** A short id for the checkpoint, e.g. {@code production@3f2a9c0b1d4e}: what {@code seed serve} shows. */
        public String modelId() {
            return alias + "@" + sha256.substring(0, 12);
        }
    }

    /** A change to append: the alias, what it points at now, and why (the lineage record is written by the caller). */
    public record Change(String alias, Action action, String sha256, String path, String changedBy, String reason,
            Map<String, Object> metrics, Map<String, Object> gates, String executionId, String lineageTaskRun) {

        public Change {
            checkAlias(alias);
            if (sha256 == null || !sha256.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("a registry change needs the checkpoint's SHA-256 (64 lower-case hex"
                        + " digits), got " + sha256);
            }
            if (reason == null || reason.isBlank()) {
                throw new IllegalArgumentException("a registry change needs a reason (who reads the history asks why)");
            }
            metrics = metrics == null ? Map.of() : metrics;
        }
    }

    private final DataSource ds;

    public ModelRegistry(DataSource ds) {
        this.ds = ds;
    }

    /** Refuses alias names the database would refuse, with the rule in the message. */
    public static String checkAlias(String alias) {
        if (alias == null || !alias.matches("[a-z][a-z0-9_-]{0,39}")) {
            throw new IllegalArgumentException("alias '" + alias + "' is not a registry alias name (lower-case letter,"
                    + " then letters, digits, '-' or '_', at most 40 characters)");
        }
        return alias;
    }

    /** What {@code alias} names now, or empty if it never named anything. */
    public Optional<Entry> current(String alias) {
        List<Entry> rows = query("SELECT " + COLUMNS + " FROM model_alias_history WHERE alias = ? ORDER BY seq DESC"
                + " LIMIT 1", alias);
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
    }

    /** Every alias and what it names now. */
    public List<Entry> aliases() {
        return query("SELECT " + COLUMNS.replace("previous_sha256", "NULL").replace("execution_id", "NULL")
                .replace("lineage_task_run", "NULL").replace("gates::text", "NULL") + " FROM model_aliases ORDER BY"
                + " alias");
    }

    /** The history, newest first: of one alias, or of all when {@code alias} is null; at most {@code limit} rows. */
    public List<Entry> history(String alias, int limit) {
        return alias == null
                ? query("SELECT " + COLUMNS + " FROM model_alias_history ORDER BY seq DESC LIMIT " + limit)
                : query("SELECT " + COLUMNS + " FROM model_alias_history WHERE alias = ? ORDER BY seq DESC LIMIT "
                        + limit, alias);
    }

    /** The newest row (any alias) that named checkpoint {@code sha256}: where it is and what its evaluation said. */
    public Optional<Entry> latestOf(String sha256) {
        List<Entry> rows = query("SELECT " + COLUMNS + " FROM model_alias_history WHERE sha256 = ? ORDER BY seq DESC"
                + " LIMIT 1", sha256);
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
    }

    /** Appends {@code change} (previous_sha256 = what the alias named until now) and returns the stored row. */
    public Entry append(Change change) {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (Statement st = c.createStatement()) {
                    st.execute("SET LOCAL ROLE " + seed.workflows.lineage.LineageStore.APP_ROLE);
                }
                try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
                    lock.setLong(1, CHANGE_LOCK);
                    lock.execute();
                }
                long seq;
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO model_alias_history(alias, action, sha256,"
                        + " path, previous_sha256, changed_by, reason, metrics, gates, execution_id, lineage_task_run)"
                        + " VALUES (?, ?, ?, ?, (SELECT sha256 FROM model_alias_history WHERE alias = ? ORDER BY seq"
                        + " DESC LIMIT 1), ?, ?, ?::jsonb, ?::jsonb, ?, ?) RETURNING seq")) {
                    ps.setString(1, change.alias());
                    ps.setString(2, change.action().name().toLowerCase(Locale.ROOT));
                    ps.setString(3, change.sha256());
                    ps.setString(4, change.path());
                    ps.setString(5, change.alias());
                    ps.setString(6, change.changedBy());
                    ps.setString(7, change.reason());
                    ps.setString(8, JSON.writeValueAsString(change.metrics()));
                    if (change.gates() == null) {
                        ps.setNull(9, Types.VARCHAR);
                    } else {
                        ps.setString(9, JSON.writeValueAsString(change.gates()));
                    }
                    ps.setString(10, change.executionId());
                    ps.setString(11, change.lineageTaskRun());
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        seq = rs.getLong(1);
                    }
                }
                c.commit();
                return query("SELECT " + COLUMNS + " FROM model_alias_history WHERE seq = " + seq).get(0);
            } catch (SQLException | RuntimeException | com.fasterxml.jackson.core.JsonProcessingException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("model registry: pointing alias " + change.alias() + " at "
                    + change.sha256() + ": " + e.getMessage(), e);
        }
    }

    private List<Entry> query(String sql, String... args) {
        List<Entry> out = new ArrayList<>();
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setString(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Entry(rs.getLong(1), rs.getString(2),
                            Action.valueOf(rs.getString(3).toUpperCase(Locale.ROOT)), rs.getString(4),
                            rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), map(rs.getString(9)),
                            rs.getString(10) == null ? null : map(rs.getString(10)), rs.getString(11),
                            rs.getString(12), rs.getTimestamp(13).toInstant()));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("model registry: reading (" + e.getMessage() + "); is the schema migrated"
                    + " to V13?", e);
        }
        return out;
    }

    private static Map<String, Object> map(String json) {
        try {
            return json == null ? Map.of() : JSON.readValue(json, new TypeReference<Map<String, Object>>() { });
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("model registry: unreadable JSON " + json, e);
        }
    }
}
