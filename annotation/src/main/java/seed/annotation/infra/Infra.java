package seed.annotation.infra;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.migrations.Migrations;

/**
 * Starts what the annotation path needs: the in-process KRaft broker and/or the embedded PostgreSQL only when the
 * config names none, a connection pool, the Flyway migrations and the rankings + dead-letter topics. Close it to
 * stop whatever it started (external services are left alone).
 */
public final class Infra implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Infra.class);

    private final InfraConfig config;
    private final EmbeddedKafka kafka;
    private EmbeddedPostgres postgres;
    private final HikariDataSource dataSource;
    private final HikariDataSource claimsDataSource;
    private final HikariDataSource ownerDataSource;
    private final HikariDataSource ingesterDataSource;
    private final String bootstrap;
    private final String ownerUser;
    private final String ownerPassword;

    private Infra(InfraConfig config, EmbeddedKafka kafka, EmbeddedPostgres postgres, HikariDataSource ownerDataSource,
                  HikariDataSource dataSource, HikariDataSource claimsDataSource, HikariDataSource ingesterDataSource,
                  String bootstrap, String ownerUser, String ownerPassword) {
        this.ownerUser = ownerUser;
        this.ownerPassword = ownerPassword;
        this.ownerDataSource = ownerDataSource;
        this.ingesterDataSource = ingesterDataSource;
        this.config = config;
        this.kafka = kafka;
        this.postgres = postgres;
        this.dataSource = dataSource;
        this.claimsDataSource = claimsDataSource;
        this.bootstrap = bootstrap;
    }

    /** Starts (or connects to) Kafka and PostgreSQL, migrates the schema and creates the topics. */
    public static Infra start(InfraConfig config) {
        EmbeddedKafka kafka = null;
        EmbeddedPostgres pg = null;
        HikariDataSource ds = null;
        HikariDataSource claims = null;
        HikariDataSource owner = null;
        HikariDataSource ingest = null;
        try {
            Files.createDirectories(config.dataDir());
            String jdbcUrl = config.jdbcUrl();
            String user = config.jdbcUser();
            String password = config.jdbcPassword();
            EmbeddedPostgresAuth auth = null;
            if (jdbcUrl == null) {
                long t0 = System.nanoTime();
                auth = EmbeddedPostgresAuth.of(config.dataDir());
                OrphanedPostgres.reclaim(config.dataDir().resolve("postgres"));
                pg = startPostgres(config.dataDir(), 0, auth);
                // no user in the URL: the driver lets URL parameters override the pool's user
                jdbcUrl = "jdbc:postgresql://localhost:" + pg.getPort() + "/postgres";
                user = EmbeddedPostgresAuth.SUPERUSER;
                password = auth.password(user);
                log.info("embedded PostgreSQL up on port {} in {} ms", pg.getPort(), (System.nanoTime() - t0) / 1_000_000);
            }
            owner = pool(jdbcUrl, user, password, "seed-owner", null, 4);
            if (auth != null) {
                EmbeddedPostgresAuth.upgradeIfTrusting(owner, config.dataDir().resolve("postgres"), password);
            }
            int applied = Migrations.apply(owner);
            log.info("schema current ({} migration(s) applied)", applied);
            String apiUser = user;
            String apiPassword = password;
            String apiInit = null;
            String ingesterUser = user;
            String ingesterPassword = password;
            String ingesterInit = null;
            if (auth != null) {
                // the application logs in as the least-privilege roles themselves, never as the superuser
                auth.enableLogin(owner, "seed_api");
                auth.enableLogin(owner, "seed_ingester");
                apiUser = "seed_api";
                apiPassword = auth.password(apiUser);
                ingesterUser = "seed_ingester";
                ingesterPassword = auth.password(ingesterUser);
            } else {
                String apiRole = roleIfMember(owner, "seed_api");
                String ingesterRole = roleIfMember(owner, "seed_ingester");
                apiInit = apiRole == null ? null : "SET ROLE " + apiRole;
                ingesterInit = ingesterRole == null ? null : "SET ROLE " + ingesterRole;
            }
            seed.annotation.core.Signing.load(owner); // creates the record signing keys once, for every process
            ds = pool(jdbcUrl, apiUser, apiPassword, "seed-annotation", apiInit);
            claims = pool(jdbcUrl, apiUser, apiPassword, "seed-claims", (apiInit == null ? "" : apiInit + "; ")
                    + "SET synchronous_commit = off");
            ingest = pool(jdbcUrl, ingesterUser, ingesterPassword, "seed-ingester", ingesterInit);
            String bootstrap = config.kafkaBootstrap();
            if (bootstrap == null) {
                long t0 = System.nanoTime();
                kafka = EmbeddedKafka.start(config.dataDir().resolve("kafka"));
                bootstrap = kafka.bootstrapServers();
                log.info("in-process Kafka broker up at {} in {} ms", bootstrap, (System.nanoTime() - t0) / 1_000_000);
            }
            createTopics(bootstrap, config);
            return new Infra(config, kafka, pg, owner, ds, claims, ingest, bootstrap, user, password);
        } catch (IOException e) {
            closeQuietly(owner, null, null);
            closeQuietly(ingest, null, null);
            closeQuietly(claims, null, null);
            closeQuietly(ds, kafka, pg);
            throw new IllegalStateException("starting annotation infrastructure under " + config.dataDir() + ": "
                    + causes(e) + logHint(config.dataDir()), e);
        } catch (RuntimeException e) {
            closeQuietly(owner, null, null);
            closeQuietly(ingest, null, null);
            closeQuietly(claims, null, null);
            closeQuietly(ds, kafka, pg);
            throw e;
        }
    }

    /**
     * Starts the embedded PostgreSQL on its data folder ({@code port} 0 = a free one), with password authentication
     * (see {@link EmbeddedPostgresAuth}): a new cluster is created with the superuser's password and SCRAM in
     * {@code pg_hba.conf}; zonky's readiness probe logs in with that password. Its own output goes to
     * {@code postgres.log} under the data dir, not to the console.
     */
    private static EmbeddedPostgres startPostgres(Path dataDir, int port, EmbeddedPostgresAuth auth) throws IOException {
        Path pgData = dataDir.resolve("postgres");
        boolean fresh = !Files.exists(pgData.resolve("postgresql.conf"));
        if (!fresh && !auth.has(EmbeddedPostgresAuth.SUPERUSER)
                && !EmbeddedPostgresAuth.trusts(pgData.resolve("pg_hba.conf"))) {
            throw new IllegalStateException("the embedded PostgreSQL under " + pgData + " asks for passwords, but the"
                    + " superuser's password file " + auth.file(EmbeddedPostgresAuth.SUPERUSER) + " is missing: restore"
                    + " it from a backup of " + dataDir.resolve(EmbeddedPostgresAuth.PASSWORDS_DIR));
        }
        String superuserPassword = auth.password(EmbeddedPostgresAuth.SUPERUSER);
        java.io.File logFile = dataDir.resolve("postgres.log").toFile();
        EmbeddedPostgres.Builder b = EmbeddedPostgres.builder()
                .setDataDirectory(pgData)
                .setCleanDataDirectory(false)
                .setOutputRedirector(ProcessBuilder.Redirect.appendTo(logFile))
                .setErrorRedirector(ProcessBuilder.Redirect.appendTo(logFile))
                .setConnectConfig("password", superuserPassword)
                .setServerConfig("password_encryption", "scram-sha-256")
                .setServerConfig("synchronous_commit", "on")
                .setServerConfig("fsync", "on")
                .setServerConfig("max_connections", "100")
                .setServerConfig("shared_buffers", "256MB")
                .setServerConfig("max_wal_size", "2GB");
        if (port > 0) {
            b.setPort(port);
        }
        if (!fresh) {
            return b.start();
        }
        // initdb reads the superuser's password from a file: an owner-only one beside the password folder, gone after
        Path pwfile = dataDir.resolve(EmbeddedPostgresAuth.PASSWORDS_DIR).resolve(".initdb-pwfile");
        EmbeddedPostgresAuth.writeOwnerOnly(pwfile, superuserPassword + "\n");
        try {
            EmbeddedPostgresAuth.initdbOptions(pwfile).forEach(b::setLocaleConfig);
            return b.start();
        } finally {
            Files.deleteIfExists(pwfile);
        }
    }

    /** Every distinct message in the cause chain, so a startup failure names its real cause. */
    static String causes(Throwable e) {
        StringBuilder sb = new StringBuilder();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (seen.add(m)) {
                sb.append(sb.length() > 0 ? ": " : "").append(m);
            }
        }
        return sb.toString();
    }

    private static String logHint(java.nio.file.Path dataDir) {
        java.nio.file.Path log = dataDir.resolve("postgres.log");
        return Files.exists(log) ? " (PostgreSQL's own log: " + log + ")" : "";
    }

    /**
     * Test hook for outage tests: stops the embedded PostgreSQL (fast shutdown; connections break) and keeps its data.
     */
    public synchronized void stopEmbeddedPostgres() throws IOException {
        if (postgres == null) {
            throw new IllegalStateException("no embedded PostgreSQL in this process");
        }
        int port = postgres.getPort();
        postgres.close();
        stoppedPort = port;
    }

    /** Starts the embedded PostgreSQL stopped by {@link #stopEmbeddedPostgres} again, on the same port. */
    public synchronized void startEmbeddedPostgres() throws IOException {
        if (stoppedPort == 0) {
            throw new IllegalStateException("embedded PostgreSQL was not stopped");
        }
        postgres = startPostgres(config.dataDir(), stoppedPort, EmbeddedPostgresAuth.of(config.dataDir()));
        stoppedPort = 0;
    }

    private int stoppedPort;

    /**
     * Whether the JVM is shutting down. The embedded PostgreSQL has its own shutdown hook (zonky's), which stops the
     * server while Seed's hook is still closing the ingester and pools; connection errors then are expected, and are
     * logged as one line instead of stack traces. (Adding a hook during shutdown is refused: that is the test.)
     */
    public static boolean jvmShuttingDown() {
        try {
            Thread probe = new Thread(() -> { });
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }

    /**
     * The least-privilege role (V4) the login user can switch to, or null (with a warning) when it is not a member:
     * then Seed works with the login user's own privileges.
     */
    private static String roleIfMember(DataSource owner, String role) {
        try (java.sql.Connection c = owner.getConnection();
             java.sql.PreparedStatement ps = c.prepareStatement("SELECT pg_has_role(current_user, ?, 'MEMBER')")) {
            ps.setString(1, role);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                if (rs.next() && rs.getBoolean(1)) {
                    return role;
                }
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("checking membership of role " + role + ": " + e.getMessage(), e);
        }
        log.warn("the database user is not a member of {}: working with its own privileges (GRANT {} TO <user> for"
                + " least privilege)", role, role);
        return null;
    }

    static HikariDataSource pool(String url, String user, String password, String name, String initSql) {
        return pool(url, user, password, name, initSql, 16);
    }

    static HikariDataSource pool(String url, String user, String password, String name, String initSql, int size) {
        HikariConfig hc = new HikariConfig();
        if (initSql != null) {
            hc.setConnectionInitSql(initSql);
        }
        hc.setJdbcUrl(url);
        hc.setUsername(user);
        hc.setPassword(password);
        hc.setMaximumPoolSize(size);
        hc.setMinimumIdle(1);
        hc.setPoolName(name);
        // an outage shows as a failed borrow within seconds, not a 30 s stall per caller
        hc.setConnectionTimeout(5_000);
        hc.addDataSourceProperty("reWriteBatchedInserts", "true");
        return new HikariDataSource(hc);
    }

    /** Creates the rankings topic and its dead-letter topic if missing (replication 1 on a one-node broker). */
    public static void createTopics(String bootstrap, InfraConfig config) {
        Map<String, Object> ap = new java.util.HashMap<>(config.kafkaClientProperties());
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(ap)) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            int nodes = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).size();
            short rf = (short) Math.min(3, nodes);
            for (String t : List.of(config.topic(), config.deadLetterTopic())) {
                if (existing.contains(t)) {
                    continue;
                }
                NewTopic nt = new NewTopic(t, t.equals(config.topic()) ? config.partitions() : 1, rf)
                        .configs(Map.of("min.insync.replicas", String.valueOf(Math.min(2, rf))));
                try {
                    admin.createTopics(List.of(nt)).all().get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("creating Kafka topics " + config.topic() + " at " + bootstrap + ": " + e, e);
        }
    }

    public InfraConfig config() {
        return config;
    }

    /** Connections as the API role (seed_api): catalog, claims, snapshots, stats; it cannot write rankings. */
    public DataSource dataSource() {
        return dataSource;
    }

    /** Connections as the ingester role (seed_ingester): appends rankings and refusals, releases stranded claims. */
    public DataSource ingesterDataSource() {
        return ingesterDataSource;
    }

    /** Connections as the login user, which owns the schema (migrations; tests that break things on purpose). */
    public DataSource ownerDataSource() {
        return ownerDataSource;
    }

    /**
     * A pool whose sessions run with synchronous_commit off, for the submission claim only (see
     * {@code Catalog.claim}): one round trip instead of three on the HTTP hot path.
     */
    public DataSource claimsDataSource() {
        return claimsDataSource;
    }

    public String kafkaBootstrap() {
        return bootstrap;
    }

    /** The in-process broker, or null when an external Kafka is configured. */
    public EmbeddedKafka embeddedKafka() {
        return kafka;
    }

    /** JDBC URL other processes (e.g. a forked ingester) can use to reach the same database. */
    public String jdbcUrl() {
        return dataSource.getJdbcUrl();
    }

    /**
     * The login that owns the schema (the superuser of an embedded PostgreSQL): what another Seed process needs, since
     * it applies the migrations too. This process's own API and ingester pools log in as seed_api / seed_ingester.
     */
    public String jdbcUser() {
        return ownerUser;
    }

    /** {@link #jdbcUser()}'s password (the generated one of an embedded PostgreSQL), or null. */
    public String jdbcPassword() {
        return ownerPassword;
    }

    /** The config another process should use to share these exact services (no new embedded ones). */
    public InfraConfig sharedConfig() {
        return new InfraConfig(bootstrap, jdbcUrl(), jdbcUser(), jdbcPassword(), config.dataDir(), config.topic(),
                config.partitions(), config.kafkaClientProperties());
    }

    @Override
    public void close() {
        closeQuietly(claimsDataSource, null, null);
        closeQuietly(ingesterDataSource, null, null);
        closeQuietly(ownerDataSource, null, null);
        closeQuietly(dataSource, kafka, postgres);
    }

    private static void closeQuietly(HikariDataSource ds, EmbeddedKafka kafka, EmbeddedPostgres pg) {
        if (ds != null) {
            ds.close();
        }
        if (kafka != null) {
            try {
                kafka.close();
            } catch (RuntimeException e) {
                log.warn("stopping embedded Kafka: {}", e.toString());
            }
        }
        if (pg != null) {
            try {
                pg.close();
            } catch (IOException | RuntimeException e) {
                log.warn("stopping embedded PostgreSQL: {}", causes(e));
            }
        }
    }
}
