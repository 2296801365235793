package seed.annotation.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;
import seed.annotation.infra.InfraConfig;

/**
 * Where Kafka and PostgreSQL are, for every {@code seed annotate} command: flags, defaulting to the SEED_* environment
 * variables; when neither names a service, an embedded one is started under the data dir.
 */
public final class InfraOptions {

    @Option(names = "--kafka-bootstrap", defaultValue = "${env:SEED_KAFKA_BOOTSTRAP}",
            description = "Kafka bootstrap servers (env SEED_KAFKA_BOOTSTRAP); unset = in-process KRaft broker")
    String kafkaBootstrap;

    @Option(names = "--kafka-properties", defaultValue = "${env:SEED_KAFKA_PROPERTIES}",
            description = "properties file of Kafka client settings for SASL/TLS, given to every client (env SEED_KAFKA_PROPERTIES)")
    String kafkaProperties;

    @Option(names = "--jdbc-url", defaultValue = "${env:SEED_JDBC_URL}",
            description = "PostgreSQL JDBC URL (env SEED_JDBC_URL); unset = embedded PostgreSQL 17")
    String jdbcUrl;

    @Option(names = "--jdbc-user", defaultValue = "${env:SEED_JDBC_USER}", description = "env SEED_JDBC_USER")
    String jdbcUser;

    @Option(names = "--jdbc-password", defaultValue = "${env:SEED_JDBC_PASSWORD}", description = "env SEED_JDBC_PASSWORD")
    String jdbcPassword;

    @Option(names = "--jdbc-password-file", defaultValue = "${env:SEED_JDBC_PASSWORD_FILE}",
            description = "file whose first line is the PostgreSQL password (env SEED_JDBC_PASSWORD_FILE), e.g. an"
                    + " embedded server's <data dir>/postgres-passwords/postgres; keeps it off the command line")
    String jdbcPasswordFile;

    @Option(names = "--data-dir", defaultValue = "${env:SEED_DATA_DIR:-.seed/annotation}",
            description = "embedded Kafka/PostgreSQL data and snapshot files (env SEED_DATA_DIR; default ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--topic", defaultValue = "${env:SEED_TOPIC:-seed.rankings}", description = "rankings topic (default ${DEFAULT-VALUE})")
    String topic;

    @Option(names = "--topic-partitions", defaultValue = "1", description = "partitions when creating the topic (default ${DEFAULT-VALUE})")
    int partitions;

    public InfraConfig config() {
        return new InfraConfig(kafkaBootstrap, jdbcUrl, jdbcUser,
                InfraConfig.password(jdbcPassword, jdbcPasswordFile), dataDir, topic, partitions,
                InfraConfig.kafkaPropertiesFile(kafkaProperties));
    }
}
