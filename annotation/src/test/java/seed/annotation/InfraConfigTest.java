package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.core.RankingProducer;
import seed.annotation.infra.Infra;
import seed.annotation.infra.InfraConfig;

/** Kafka client settings reach the clients, and no secret is ever printed. */
class InfraConfigTest {

    @TempDir
    Path dir;

    @Test
    void secretsAreMaskedAndClientSettingsPassThrough() throws Exception {
        Path props = dir.resolve("kafka.properties");
        Files.writeString(props, "security.protocol=BOGUS\nsasl.mechanism=PLAIN\n"
                + "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"hunter2\";\n"
                + "ssl.truststore.password=trustme\n");
        InfraConfig c = InfraConfig.fromEnv(Map.of("SEED_KAFKA_BOOTSTRAP", "127.0.0.1:1", "SEED_JDBC_URL", "jdbc:postgresql://x/y",
                "SEED_JDBC_PASSWORD", "s3cret", "SEED_KAFKA_PROPERTIES", props.toString()), dir);
        assertEquals("PLAIN", c.kafkaClientProperties().get("sasl.mechanism"));
        String shown = c.toString();
        for (String secret : new String[] {"s3cret", "hunter2", "trustme"}) {
            assertTrue(!shown.contains(secret), "printed a secret: " + shown);
        }
        assertTrue(shown.contains("sasl.mechanism=PLAIN"), shown);

        // the settings reach the admin client and the producer: an invalid protocol is refused by Kafka's own check
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Infra.createTopics("127.0.0.1:1", c));
        assertTrue(String.valueOf(e.getMessage()).contains("BOGUS"), e.getMessage());
        Exception pe = assertThrows(Exception.class, () -> new RankingProducer("127.0.0.1:1", "t",
                c.kafkaClientProperties(), null).close());
        assertTrue(String.valueOf(pe.getMessage()).contains("BOGUS") || String.valueOf(pe.getCause()).contains("BOGUS"),
                String.valueOf(pe));
        assertThrows(IllegalArgumentException.class, () -> InfraConfig.kafkaPropertiesFile(dir.resolve("missing").toString()));
    }
}
