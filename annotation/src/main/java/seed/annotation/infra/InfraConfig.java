package seed.annotation.infra;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where Seed's annotation path finds Kafka and PostgreSQL. A null bootstrap or JDBC URL means "start an embedded one
 * under {@code dataDir}"; pointing at external services is configuration, not code.
 *
 * @param kafkaBootstrap Kafka bootstrap servers ("host:port,..."), or null for an in-process KRaft broker
 * @param jdbcUrl        PostgreSQL JDBC URL, or null for an embedded PostgreSQL 17
 * @param jdbcUser       user for {@code jdbcUrl} (ignored when embedded)
 * @param jdbcPassword   password for {@code jdbcUrl} (ignored when embedded)
 * @param dataDir        folder for embedded data (Kafka logs, PostgreSQL cluster) and snapshot files
 * @param topic          the rankings topic
 * @param partitions     partitions to create the topic with when it does not exist
 */
public record InfraConfig(String kafkaBootstrap, String jdbcUrl, String jdbcUser, String jdbcPassword, Path dataDir,
                          String topic, int partitions) {

    public static final String DEFAULT_TOPIC = "seed.rankings";

    public InfraConfig {
        if (dataDir == null) {
            throw new IllegalArgumentException("dataDir is required");
        }
        if (topic == null || topic.isBlank()) {
            topic = DEFAULT_TOPIC;
        }
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be >= 1, got " + partitions);
        }
        kafkaBootstrap = blankToNull(kafkaBootstrap);
        jdbcUrl = blankToNull(jdbcUrl);
    }

    /** Embedded Kafka and PostgreSQL under {@code dataDir}, one partition. */
    public static InfraConfig embedded(Path dataDir) {
        return new InfraConfig(null, null, null, null, dataDir, DEFAULT_TOPIC, 1);
    }

    /**
     * Reads SEED_KAFKA_BOOTSTRAP, SEED_JDBC_URL, SEED_JDBC_USER, SEED_JDBC_PASSWORD, SEED_DATA_DIR and SEED_TOPIC from
     * the given environment; {@code defaultDataDir} is used when SEED_DATA_DIR is unset.
     */
    public static InfraConfig fromEnv(Map<String, String> env, Path defaultDataDir) {
        String dir = env.get("SEED_DATA_DIR");
        return new InfraConfig(env.get("SEED_KAFKA_BOOTSTRAP"), env.get("SEED_JDBC_URL"), env.get("SEED_JDBC_USER"),
                env.get("SEED_JDBC_PASSWORD"), dir == null || dir.isBlank() ? defaultDataDir : Path.of(dir),
                env.get("SEED_TOPIC"), 1);
    }

    public InfraConfig withPartitions(int n) {
        return new InfraConfig(kafkaBootstrap, jdbcUrl, jdbcUser, jdbcPassword, dataDir, topic, n);
    }

    public InfraConfig withTopic(String t) {
        return new InfraConfig(kafkaBootstrap, jdbcUrl, jdbcUser, jdbcPassword, dataDir, t, partitions);
    }

    /** The dead-letter topic paired with {@link #topic()}. */
    public String deadLetterTopic() {
        return topic + ".dlq";
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
