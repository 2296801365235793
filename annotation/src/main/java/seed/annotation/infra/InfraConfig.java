package seed.annotation.infra;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where Seed's annotation path finds Kafka and PostgreSQL. A null bootstrap or JDBC URL means "start an embedded one
 * under {@code dataDir}"; pointing at external services is configuration, not code.
 *
 * @param kafkaBootstrap Kafka bootstrap servers ("host:port,..."), or null for an in-process KRaft broker
 * @param jdbcUrl        PostgreSQL JDBC URL, or null for an embedded PostgreSQL 17
 * @param jdbcUser       user for {@code jdbcUrl} (ignored when embedded: the embedded server's roles get generated
 *                       passwords, see {@link EmbeddedPostgresAuth})
 * @param jdbcPassword   password for {@code jdbcUrl} (ignored when embedded)
 * @param dataDir        folder for embedded data (Kafka logs, PostgreSQL cluster) and snapshot files
 * @param topic          the rankings topic
 * @param partitions     partitions to create the topic with when it does not exist
 * @param kafkaClientProperties extra settings for every Kafka client (producer, consumer, admin, dead-letter
 *                       producer): SASL and TLS ({@code security.protocol}, {@code sasl.mechanism},
 *                       {@code sasl.jaas.config}, {@code ssl.truststore.location}, ...), read from a properties file
 */
public record InfraConfig(String kafkaBootstrap, String jdbcUrl, String jdbcUser, String jdbcPassword, Path dataDir,
                          String topic, int partitions, Map<String, String> kafkaClientProperties) {

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
        kafkaClientProperties = kafkaClientProperties == null ? Map.of() : Map.copyOf(kafkaClientProperties);
    }

    public InfraConfig(String kafkaBootstrap, String jdbcUrl, String jdbcUser, String jdbcPassword, Path dataDir,
                       String topic, int partitions) {
        this(kafkaBootstrap, jdbcUrl, jdbcUser, jdbcPassword, dataDir, topic, partitions, Map.of());
    }

    /** Reads Kafka client settings from a properties file (null or blank = none); a missing file is an error. */
    public static Map<String, String> kafkaPropertiesFile(String file) {
        if (file == null || file.isBlank()) {
            return Map.of();
        }
        java.util.Properties p = new java.util.Properties();
        try (var in = java.nio.file.Files.newInputStream(Path.of(file))) {
            p.load(in);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read Kafka client properties file " + file + ": " + e.getMessage());
        }
        Map<String, String> m = new java.util.HashMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        return m;
    }

    /** Secrets never appear: the JDBC password and every Kafka setting that may hold one are masked. */
    @Override
    public String toString() {
        Map<String, String> kafka = new java.util.TreeMap<>();
        kafkaClientProperties.forEach((k, v) -> kafka.put(k, isSecret(k) ? "***" : v));
        return "InfraConfig[kafkaBootstrap=" + kafkaBootstrap + ", jdbcUrl=" + jdbcUrl + ", jdbcUser=" + jdbcUser
                + ", jdbcPassword=" + (jdbcPassword == null ? "none" : "***") + ", dataDir=" + dataDir + ", topic=" + topic
                + ", partitions=" + partitions + ", kafkaClientProperties=" + kafka + "]";
    }

    static boolean isSecret(String key) {
        String k = key.toLowerCase(java.util.Locale.ROOT);
        return k.contains("password") || k.contains("jaas") || k.contains("secret") || k.contains("token")
                || k.endsWith(".key");
    }

    /** Embedded Kafka and PostgreSQL under {@code dataDir}, one partition. */
    public static InfraConfig embedded(Path dataDir) {
        return new InfraConfig(null, null, null, null, dataDir, DEFAULT_TOPIC, 1);
    }

    /**
     * Reads SEED_KAFKA_BOOTSTRAP, SEED_KAFKA_PROPERTIES (a properties file of client settings), SEED_JDBC_URL,
     * SEED_JDBC_USER, SEED_JDBC_PASSWORD or SEED_JDBC_PASSWORD_FILE, SEED_DATA_DIR and SEED_TOPIC from
     * the given environment; {@code defaultDataDir} is used when SEED_DATA_DIR is unset.
     */
    public static InfraConfig fromEnv(Map<String, String> env, Path defaultDataDir) {
        String dir = env.get("SEED_DATA_DIR");
        return new InfraConfig(env.get("SEED_KAFKA_BOOTSTRAP"), env.get("SEED_JDBC_URL"), env.get("SEED_JDBC_USER"),
                password(env.get("SEED_JDBC_PASSWORD"), env.get("SEED_JDBC_PASSWORD_FILE")), dir == null || dir.isBlank() ? defaultDataDir : Path.of(dir),
                env.get("SEED_TOPIC"), 1, kafkaPropertiesFile(env.get("SEED_KAFKA_PROPERTIES")));
    }

    /**
     * The JDBC password given directly or as a file whose first line holds it (so it stays out of the command line
     * and the environment); both at once is an error, neither is null.
     */
    public static String password(String password, String passwordFile) {
        boolean direct = password != null && !password.isEmpty();
        if (passwordFile == null || passwordFile.isBlank()) {
            return direct ? password : null;
        }
        if (direct) {
            throw new IllegalArgumentException("give the JDBC password or a password file, not both");
        }
        try {
            String text = java.nio.file.Files.readString(Path.of(passwordFile), java.nio.charset.StandardCharsets.UTF_8);
            String first = text.lines().findFirst().orElse("").strip();
            if (first.isEmpty()) {
                throw new IllegalArgumentException("the JDBC password file " + passwordFile + " is empty");
            }
            return first;
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read the JDBC password file " + passwordFile + ": " + e.getMessage());
        }
    }

    public InfraConfig withPartitions(int n) {
        return new InfraConfig(kafkaBootstrap, jdbcUrl, jdbcUser, jdbcPassword, dataDir, topic, n, kafkaClientProperties);
    }

    public InfraConfig withTopic(String t) {
        return new InfraConfig(kafkaBootstrap, jdbcUrl, jdbcUser, jdbcPassword, dataDir, t, partitions, kafkaClientProperties);
    }

    /** The dead-letter topic paired with {@link #topic()}. */
    public String deadLetterTopic() {
        return topic + ".dlq";
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
