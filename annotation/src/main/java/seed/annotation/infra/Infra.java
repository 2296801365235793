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
    private final EmbeddedPostgres postgres;
    private final HikariDataSource dataSource;
    private final HikariDataSource claimsDataSource;
    private final String bootstrap;

    private Infra(InfraConfig config, EmbeddedKafka kafka, EmbeddedPostgres postgres, HikariDataSource dataSource,
                  HikariDataSource claimsDataSource, String bootstrap) {
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
        try {
            Files.createDirectories(config.dataDir());
            String jdbcUrl = config.jdbcUrl();
            String user = config.jdbcUser();
            String password = config.jdbcPassword();
            if (jdbcUrl == null) {
                long t0 = System.nanoTime();
                pg = EmbeddedPostgres.builder()
                        .setDataDirectory(config.dataDir().resolve("postgres"))
                        .setCleanDataDirectory(false)
                        .setServerConfig("synchronous_commit", "on")
                        .setServerConfig("fsync", "on")
                        .setServerConfig("max_connections", "100")
                        .setServerConfig("shared_buffers", "256MB")
                        .setServerConfig("max_wal_size", "2GB")
                        .start();
                jdbcUrl = pg.getJdbcUrl("postgres", "postgres");
                user = "postgres";
                password = null;
                log.info("embedded PostgreSQL up on port {} in {} ms", pg.getPort(), (System.nanoTime() - t0) / 1_000_000);
            }
            ds = pool(jdbcUrl, user, password, "seed-annotation", null);
            claims = pool(jdbcUrl, user, password, "seed-claims", "SET synchronous_commit = off");
            int applied = Migrations.apply(ds);
            log.info("schema current ({} migration(s) applied)", applied);
            String bootstrap = config.kafkaBootstrap();
            if (bootstrap == null) {
                long t0 = System.nanoTime();
                kafka = EmbeddedKafka.start(config.dataDir().resolve("kafka"));
                bootstrap = kafka.bootstrapServers();
                log.info("in-process Kafka broker up at {} in {} ms", bootstrap, (System.nanoTime() - t0) / 1_000_000);
            }
            createTopics(bootstrap, config);
            return new Infra(config, kafka, pg, ds, claims, bootstrap);
        } catch (IOException e) {
            closeQuietly(claims, null, null);
            closeQuietly(ds, kafka, pg);
            throw new UncheckedIOException("starting annotation infrastructure under " + config.dataDir(), e);
        } catch (RuntimeException e) {
            closeQuietly(claims, null, null);
            closeQuietly(ds, kafka, pg);
            throw e;
        }
    }

    static HikariDataSource pool(String url, String user, String password, String name, String initSql) {
        HikariConfig hc = new HikariConfig();
        if (initSql != null) {
            hc.setConnectionInitSql(initSql);
        }
        hc.setJdbcUrl(url);
        hc.setUsername(user);
        hc.setPassword(password);
        hc.setMaximumPoolSize(16);
        hc.setMinimumIdle(1);
        hc.setPoolName(name);
        hc.addDataSourceProperty("reWriteBatchedInserts", "true");
        return new HikariDataSource(hc);
    }

    /** Creates the rankings topic and its dead-letter topic if missing (replication 1 on a one-node broker). */
    public static void createTopics(String bootstrap, InfraConfig config) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
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

    public DataSource dataSource() {
        return dataSource;
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

    public String jdbcUser() {
        return dataSource.getUsername();
    }

    public String jdbcPassword() {
        return dataSource.getPassword();
    }

    /** The config another process should use to share these exact services (no new embedded ones). */
    public InfraConfig sharedConfig() {
        return new InfraConfig(bootstrap, jdbcUrl(), jdbcUser(), jdbcPassword(), config.dataDir(), config.topic(),
                config.partitions());
    }

    @Override
    public void close() {
        closeQuietly(claimsDataSource, null, null);
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
                log.warn("stopping embedded PostgreSQL: {}", e.toString());
            }
        }
    }
}
