package seed.annotation.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded broker's port handling: CI once failed because two one-at-a-time free-port picks returned the same
 * port for the broker and the controller listener.
 */
class EmbeddedKafkaPortsTest {

    @Test
    void portsPickedTogetherAreAllDifferent() {
        for (int round = 0; round < 200; round++) {
            int[] ports = EmbeddedKafka.distinctFreePorts(2);
            assertNotEquals(ports[0], ports[1], "round " + round);
        }
        Set<Integer> many = new HashSet<>();
        for (int p : EmbeddedKafka.distinctFreePorts(16)) {
            many.add(p);
        }
        assertEquals(16, many.size());
    }

    @Test
    void aTakenPortFailsAsABindFailureAndLeavesNothingRunningSoAFreshStartWorks(@TempDir Path dir) throws Exception {
        Path logDir = dir.resolve("kafka");
        int[] ports = EmbeddedKafka.distinctFreePorts(2);
        try (ServerSocket squatter = new ServerSocket(ports[0], 50, InetAddress.getByName("127.0.0.1"))) {
            RuntimeException e = assertThrows(RuntimeException.class,
                    () -> EmbeddedKafka.startOn(logDir, ports[0], ports[1]));
            assertTrue(EmbeddedKafka.isBindFailure(e), () -> "not recognised as a bind failure: " + e);
        }
        try (EmbeddedKafka kafka = EmbeddedKafka.start(logDir);
                Admin admin = Admin.create(java.util.Map.of(
                        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            assertEquals(1, admin.describeCluster().nodes().get().size());
        }
    }
}
