package seed.workflows.lineage;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import picocli.CommandLine;
import seed.annotation.infra.EmbeddedPostgresAuth;
import seed.annotation.infra.Infra;
import seed.workflows.SeedCli;

/**
 * What the lineage tests share to play the attacker and the auditor on a running ledger: its rows as saved, a
 * superuser's rewrite of them (triggers off, rows rewritten, triggers on), and {@code seed lineage ...} run in-process
 * against the same PostgreSQL and Kafka, logging in with the embedded server's password file.
 */
final class LedgerTamper {

    private LedgerTamper() {
    }

    /** A saved row, to put back exactly after a tampering test. */
    record Row(long seq, String body, String prev, String sha, String keyId, String signature) {
    }

    /** Exit code and output of one in-process {@code seed} command. */
    record Cli(int exit, String out, String err) {
    }

    static List<Row> rows(DataSource ds) {
        return new LineageStore(ds).all().stream()
                .map(r -> new Row(r.seq(), r.body(), r.prevSha256(), r.sha256(), r.keyId(), r.signature())).toList();
    }

    /**
     * Writes rows as the database superuser (who has stolen its password: the worst case) with the append-only
     * triggers (and FK checks) switched off.
     */
    static void superuserWrite(Infra infra, List<Row> rows) throws SQLException {
        try (Connection c = infra.ownerDataSource().getConnection()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("ALTER TABLE lineage_records DISABLE TRIGGER ALL");
                // sha256 is UNIQUE: move every row to a placeholder first so swapped hashes never collide
                st.execute("UPDATE lineage_records SET sha256 = lpad(seq::text, 64, 'x') WHERE seq IN ("
                        + rows.stream().map(r -> String.valueOf(r.seq())).collect(Collectors.joining(",")) + ")");
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE lineage_records SET body = ?, prev_sha256 = ?,"
                    + " sha256 = ?, key_id = ?, signature = ? WHERE seq = ?")) {
                for (Row r : rows) {
                    ps.setString(1, r.body());
                    ps.setString(2, r.prev());
                    ps.setString(3, r.sha());
                    ps.setString(4, r.keyId());
                    ps.setString(5, r.signature());
                    ps.setLong(6, r.seq());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            try (Statement st = c.createStatement()) {
                st.execute("ALTER TABLE lineage_records ENABLE TRIGGER ALL");
            }
            c.commit();
        }
    }

    /** Runs {@code seed lineage <args[0]> <connection flags> <args[1..]>} in-process against {@code infra}'s services. */
    static Cli cli(Infra infra, String... args) {
        List<String> all = new ArrayList<>(List.of("lineage", args[0], "--jdbc-url", infra.jdbcUrl(), "--jdbc-user",
                infra.jdbcUser(), "--jdbc-password-file", EmbeddedPostgresAuth.of(infra.config().dataDir())
                        .file(infra.jdbcUser()).toString(),
                "--kafka-bootstrap", infra.kafkaBootstrap(), "--data-dir", infra.config().dataDir().toString()));
        all.addAll(List.of(args).subList(1, args.length));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = SeedCli.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(all.toArray(String[]::new));
        return new Cli(code, out.toString(), err.toString());
    }
}
