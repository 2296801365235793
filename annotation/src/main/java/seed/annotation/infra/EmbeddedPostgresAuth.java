package seed.annotation.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Password authentication for the embedded PostgreSQL (issue 18: it trusted every local connection, so anyone on the
 * machine was its superuser and could {@code pg_read_file} any file the server could read). Every role Seed logs in
 * with gets a generated password, kept in one owner-only file per role ({@code 0600}, folder {@code 0700}) under
 * {@code <dataDir>/postgres-passwords}, outside the database's own data folder; the server stores them as SCRAM-SHA-256
 * verifiers and {@code pg_hba.conf} asks every local and host connection for one. A new cluster is created that way by
 * {@code initdb}; a cluster created earlier with {@code trust} is upgraded on its first start (passwords set,
 * {@code pg_hba.conf} rewritten, configuration reloaded).
 */
public final class EmbeddedPostgresAuth {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgresAuth.class);

    /** The embedded cluster's superuser (zonky's initdb names it so); only migrations and Seed's owner pool use it. */
    public static final String SUPERUSER = "postgres";

    /** The folder of password files under a data folder. */
    public static final String PASSWORDS_DIR = "postgres-passwords";

    private static final Set<PosixFilePermission> OWNER_FILE = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> OWNER_DIR = PosixFilePermissions.fromString("rwx------");
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_-]{20,}");
    private static final Pattern ROLE = Pattern.compile("[a-z_][a-z0-9_]*");

    /** What Seed writes as {@code pg_hba.conf}: a SCRAM password for every connection, no trust, no peer. */
    static final String HBA = """
            # Written by Seed (issue 18): every connection authenticates with a SCRAM-SHA-256 password; no trust.
            # TYPE  DATABASE        USER            ADDRESS                 METHOD
            local   all             all                                     scram-sha-256
            host    all             all             127.0.0.1/32            scram-sha-256
            host    all             all             ::1/128                 scram-sha-256
            local   replication     all                                     scram-sha-256
            host    replication     all             127.0.0.1/32            scram-sha-256
            host    replication     all             ::1/128                 scram-sha-256
            """;

    private final Path dir;

    private EmbeddedPostgresAuth(Path dir) {
        this.dir = dir;
    }

    /** The password folder of {@code dataDir} (created owner-only when missing; files are made on first use). */
    public static EmbeddedPostgresAuth of(Path dataDir) {
        Path dir = dataDir.resolve(PASSWORDS_DIR);
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
            }
            ownerOnly(dir, OWNER_DIR);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the password folder " + dir + ": " + e.getMessage(), e);
        }
        return new EmbeddedPostgresAuth(dir);
    }

    /** The file holding {@code role}'s password (one line), for {@code --jdbc-password-file}. */
    public Path file(String role) {
        if (!ROLE.matcher(role).matches()) {
            throw new IllegalArgumentException("not a role name: " + role);
        }
        return dir.resolve(role);
    }

    /** Whether {@code role} already has a password file. */
    public boolean has(String role) {
        return Files.isRegularFile(file(role));
    }

    /**
     * {@code role}'s password: read from its file, or generated (192 random bits, URL-safe base64) and written
     * atomically with owner-only permissions when there is none. A file others could read is tightened to 0600.
     */
    public String password(String role) {
        Path f = file(role);
        try {
            if (Files.isRegularFile(f)) {
                ownerOnly(f, OWNER_FILE);
                String pw = Files.readString(f, StandardCharsets.UTF_8).strip();
                if (!SAFE.matcher(pw).matches()) {
                    throw new IllegalStateException("the password file " + f + " does not hold a generated password"
                            + " (20+ characters of A-Z a-z 0-9 _ -)");
                }
                return pw;
            }
            byte[] bytes = new byte[24];
            new SecureRandom().nextBytes(bytes);
            String pw = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
            writeOwnerOnly(f, pw + "\n");
            return pw;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or write the password file " + f + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes {@code text} to {@code target} through an owner-only temporary file in the same folder and an atomic
     * move, so the file is never readable by others, not even half-written.
     */
    static void writeOwnerOnly(Path target, String text) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp",
                PosixFilePermissions.asFileAttribute(OWNER_FILE));
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void ownerOnly(Path p, Set<PosixFilePermission> wanted) throws IOException {
        Set<PosixFilePermission> now = Files.getPosixFilePermissions(p);
        if (!now.equals(wanted)) {
            if (now.stream().anyMatch(x -> !wanted.contains(x))) {
                log.warn("{} was readable by others ({}); made it owner-only", p, PosixFilePermissions.toString(now));
            }
            Files.setPosixFilePermissions(p, wanted);
        }
    }

    /** Whether a {@code pg_hba.conf} lets any connection in without a password (a line whose method is trust). */
    static boolean trusts(Path hba) {
        try {
            for (String line : Files.readAllLines(hba, StandardCharsets.UTF_8)) {
                String l = line.strip();
                if (!l.isEmpty() && !l.startsWith("#") && List.of(l.split("\\s+")).contains("trust")) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + hba + ": " + e.getMessage(), e);
        }
    }

    /**
     * The initdb options that create a new cluster with the superuser's password and SCRAM everywhere (zonky passes
     * them after its own {@code -A trust}, and the last {@code --auth} wins). {@code pwfile} must hold the password
     * and is deleted by the caller once the cluster exists.
     */
    static java.util.Map<String, String> initdbOptions(Path pwfile) {
        return java.util.Map.of("auth", "scram-sha-256", "pwfile", pwfile.toString());
    }

    /**
     * Upgrades a cluster created with {@code trust} (before issue 18): sets the superuser's password over
     * {@code owner} (still let in by trust), replaces {@code pg_hba.conf} and reloads, so from now on every connection
     * needs a password. Does nothing on a cluster without trust lines.
     */
    static void upgradeIfTrusting(DataSource owner, Path pgData, String superuserPassword) {
        Path hba = pgData.resolve("pg_hba.conf");
        if (!trusts(hba)) {
            return;
        }
        try (Connection c = owner.getConnection(); Statement st = c.createStatement()) {
            setPassword(c, SUPERUSER, superuserPassword);
            writeOwnerOnly(hba, HBA);
            st.execute("SELECT pg_reload_conf()");
        } catch (SQLException | IOException e) {
            throw new IllegalStateException("upgrading the embedded PostgreSQL under " + pgData
                    + " from trust to password authentication: " + e.getMessage(), e);
        }
        log.warn("the embedded PostgreSQL under {} trusted local connections; it now asks every connection for a"
                + " SCRAM-SHA-256 password (kept in {})", pgData, pgData.resolveSibling(PASSWORDS_DIR));
    }

    /**
     * Lets {@code role} (a least-privilege group role of migration V4) log in with its own password, so Seed's pools
     * connect as it instead of as the superuser switching roles (which a session could undo with RESET ROLE).
     */
    void enableLogin(DataSource owner, String role) {
        String password = password(role); // also checks that role is a plain identifier
        try (Connection c = owner.getConnection(); Statement st = c.createStatement()) {
            st.execute("ALTER ROLE " + role + " WITH LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB");
            setPassword(c, role, password);
        } catch (SQLException e) {
            throw new IllegalStateException("giving role " + role + " its login password: " + e.getMessage(), e);
        }
    }

    /**
     * Sets a role's password as a SCRAM-SHA-256 verifier computed by the driver, so the clear password never reaches
     * the server (nor its log, should the statement fail).
     */
    private static void setPassword(Connection c, String role, String password) throws SQLException {
        c.unwrap(org.postgresql.PGConnection.class).alterUserPassword(role, password.toCharArray(), "scram-sha-256");
    }
}
