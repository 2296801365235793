package seed.annotation.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18: the embedded PostgreSQL trusted every local connection, so anyone on the machine logged in as its
 * superuser and read files with {@code pg_read_file}. Run as that attacker did: a login as the superuser without a
 * password or with a wrong one is refused; the application's own roles log in with their own passwords, are not
 * superusers, cannot switch back to one and cannot read files; the passwords live in owner-only files; and a data
 * folder created with trust before this change is upgraded on its next start.
 */
class EmbeddedPostgresAuthTest {

    @TempDir
    Path dir;

    @Test
    void aNewClusterAsksEveryLoginForAScramPasswordAndTheAppRolesCannotReadFiles() throws Exception {
        Path data = dir.resolve("fresh");
        try (Infra infra = Infra.start(InfraConfig.embedded(data))) {
            Path pw = data.resolve(EmbeddedPostgresAuth.PASSWORDS_DIR);
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pw)));
            for (String role : List.of("postgres", "seed_api", "seed_ingester")) {
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pw.resolve(role))),
                        role);
            }
            assertFalse(Files.exists(pw.resolve(".initdb-pwfile")), "initdb's password file is gone");
            assertNoTrust(data);
            assertRefusedWithoutThePassword(infra);

            try (Connection c = infra.ownerDataSource().getConnection(); Statement st = c.createStatement()) {
                assertEquals("scram-sha-256", one(st, "SHOW password_encryption"));
                try (ResultSet rs = st.executeQuery("SELECT rolname, rolpassword FROM pg_authid"
                        + " WHERE rolname IN ('postgres', 'seed_api', 'seed_ingester') ORDER BY rolname")) {
                    int n = 0;
                    while (rs.next()) {
                        n++;
                        assertTrue(rs.getString(2).startsWith("SCRAM-SHA-256$"), rs.getString(1) + " has a SCRAM verifier");
                    }
                    assertEquals(3, n);
                }
            }
            String secret = pw.resolve("postgres").toAbsolutePath().toString();
            assertLeastPrivilege(infra.dataSource(), "seed_api", secret);
            assertLeastPrivilege(infra.claimsDataSource(), "seed_api", secret);
            assertLeastPrivilege(infra.ingesterDataSource(), "seed_ingester", secret);
            // another process shares the services with the schema owner's login, which now needs the password
            assertEquals(Files.readString(pw.resolve("postgres")).strip(), infra.sharedConfig().jdbcPassword());
        }
        // the next start logs in with the stored passwords; without the superuser's file it says what is missing
        try (Infra again = Infra.start(InfraConfig.embedded(data))) {
            assertRefusedWithoutThePassword(again);
        }
        Files.delete(data.resolve(EmbeddedPostgresAuth.PASSWORDS_DIR).resolve("postgres"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Infra.start(InfraConfig.embedded(data)));
        assertTrue(e.getMessage().contains("password file") && e.getMessage().contains("is missing"), e.getMessage());
    }

    @Test
    void aDataFolderCreatedWithTrustIsUpgradedOnStart() throws Exception {
        Path data = dir.resolve("old");
        // a cluster as Seed made them before issue 18: zonky's initdb with trust, the superuser without a password
        try (EmbeddedPostgres old = EmbeddedPostgres.builder().setDataDirectory(data.resolve("postgres"))
                .setCleanDataDirectory(false).start()) {
            try (Connection c = old.getPostgresDatabase().getConnection()) {
                assertTrue(c.isValid(5), "trust let the superuser in without a password");
            }
        }
        assertTrue(EmbeddedPostgresAuth.trusts(data.resolve("postgres").resolve("pg_hba.conf")));
        try (Infra infra = Infra.start(InfraConfig.embedded(data))) {
            assertNoTrust(data);
            assertRefusedWithoutThePassword(infra);
            assertLeastPrivilege(infra.dataSource(), "seed_api", data.resolve("postgres.log").toAbsolutePath().toString());
        }
        try (Infra again = Infra.start(InfraConfig.embedded(data))) {
            assertRefusedWithoutThePassword(again);
        }
    }

    @Test
    void aPasswordFileKeepsThePasswordOffTheCommandLine() throws Exception {
        Path f = dir.resolve("pw");
        Files.writeString(f, "s3cret-value\nignored\n");
        assertEquals("s3cret-value", InfraConfig.password(null, f.toString()));
        assertEquals("direct", InfraConfig.password("direct", null));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> InfraConfig.password("direct", f.toString()))
                .getMessage().contains("not both"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> InfraConfig.password(null,
                dir.resolve("absent").toString())).getMessage().contains("cannot read the JDBC password file"));
    }

    private static void assertNoTrust(Path data) throws Exception {
        Path hba = data.resolve("postgres").resolve("pg_hba.conf");
        assertFalse(EmbeddedPostgresAuth.trusts(hba), Files.readString(hba));
        List<String> methods = Files.readAllLines(hba).stream().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).map(l -> l.substring(l.lastIndexOf(' ') + 1)).toList();
        assertFalse(methods.isEmpty());
        assertTrue(methods.stream().allMatch("scram-sha-256"::equals), methods.toString());
    }

    /** What the attacker tried first: the superuser over TCP with no password, an empty one and a wrong one. */
    private static void assertRefusedWithoutThePassword(Infra infra) {
        for (String pw : new String[] {null, "", "wrong-password"}) {
            Properties p = new Properties();
            p.setProperty("user", "postgres");
            if (pw != null) {
                p.setProperty("password", pw);
            }
            SQLException e = assertThrows(SQLException.class, () -> DriverManager.getConnection(infra.jdbcUrl(), p).close(),
                    "superuser login with password " + pw);
            assertTrue(e.getMessage().contains("password"), e.getMessage());
        }
    }

    /** The pool logs in as {@code role} itself: no superuser, no way back to one, no file reading. */
    private static void assertLeastPrivilege(DataSource ds, String role, String file) throws SQLException {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute("RESET ROLE");
            assertEquals(role, one(st, "SELECT session_user"));
            assertEquals(role, one(st, "SELECT current_user"));
            assertEquals("f", one(st, "SELECT rolsuper::text::char FROM pg_roles WHERE rolname = current_user"));
            SQLException e = assertThrows(SQLException.class, () -> one(st, "SELECT pg_read_file('" + file + "')"));
            assertTrue(e.getMessage().contains("permission denied"), e.getMessage());
            e = assertThrows(SQLException.class, () -> st.execute("SET ROLE postgres"));
            assertTrue(e.getMessage().contains("permission denied"), e.getMessage());
        }
    }

    private static String one(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
