package seed.annotation.infra;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A single-node Kafka broker (KRaft, combined broker + controller) running inside this JVM, used when no bootstrap
 * servers are configured. Its log folder persists, and {@link #restart()} brings it back on the same port, which
 * is what the broker-restart fault test needs.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private final Path logDir;
    private final int brokerPort;
    private final int controllerPort;
    private KafkaRaftServer server;

    private EmbeddedKafka(Path logDir, int brokerPort, int controllerPort) {
        this.logDir = logDir;
        this.brokerPort = brokerPort;
        this.controllerPort = controllerPort;
    }

    /**
     * Formats {@code logDir} if new and starts a broker on two distinct free ports. A port picked free can be taken
     * by another process before Kafka binds it, so a bind failure on a fresh start is retried on new ports (the
     * ports live only in the config, not in the formatted log folder).
     */
    public static EmbeddedKafka start(Path logDir) {
        RuntimeException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            int[] ports = distinctFreePorts(2);
            try {
                return startOn(logDir, ports[0], ports[1]);
            } catch (RuntimeException e) {
                if (!isBindFailure(e)) {
                    throw e;
                }
                last = e;
            }
        }
        throw last;
    }

    /** Formats {@code logDir} if new and starts a broker on the given ports; a failed start leaves nothing running. */
    static EmbeddedKafka startOn(Path logDir, int brokerPort, int controllerPort) {
        EmbeddedKafka k = new EmbeddedKafka(logDir, brokerPort, controllerPort);
        k.format();
        k.startServer();
        return k;
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + brokerPort;
    }

    /** Stops the broker (as a crash-free shutdown would) and starts it again on the same port and log folder. */
    public synchronized void restart() {
        stopServer();
        startServer();
    }

    public synchronized void stopServer() {
        if (server != null) {
            server.shutdown();
            server.awaitShutdown();
            server = null;
        }
    }

    public synchronized void startServer() {
        if (server != null) {
            return;
        }
        KafkaRaftServer s = new KafkaRaftServer(KafkaConfig.fromProps(properties(), false), Time.SYSTEM);
        try {
            s.startup();
        } catch (RuntimeException e) {
            s.shutdown();
            s.awaitShutdown();
            throw e;
        }
        server = s;
    }

    @Override
    public void close() {
        stopServer();
    }

    private void format() {
        try {
            Files.createDirectories(logDir);
            if (Files.exists(logDir.resolve("meta.properties"))) {
                return;
            }
            Path propsFile = logDir.resolveSibling(logDir.getFileName() + ".format.properties");
            try (var out = Files.newOutputStream(propsFile)) {
                properties().store(out, "seed embedded kafka (format)");
            }
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int rc = StorageTool.execute(new String[] {"format", "-t", Uuid.randomUuid().toString(),
                    "-c", propsFile.toString(), "--ignore-formatted"},
                    new PrintStream(buf, true, StandardCharsets.UTF_8));
            Files.deleteIfExists(propsFile);
            if (rc != 0) {
                throw new IllegalStateException("formatting Kafka log dir " + logDir + " failed: " + buf);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Properties properties() {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", logDir.toAbsolutePath().toString());
        p.put("num.partitions", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "4");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("min.insync.replicas", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "false");
        p.put("log.flush.interval.messages", String.valueOf(Long.MAX_VALUE));
        // one node sharing its JVM (and a few cores) with the HTTP server and the ingester: Kafka's defaults (8 request
        // handlers, 3 network threads, 10 background threads) are sized for a dedicated multi-core broker; here every
        // produce request woke a different one of 8 handlers (24 data-plane threads), which costs context switches and
        // cache misses, not throughput. Two handlers and one network thread keep up with 1,000 submissions/s at a
        // fraction of the switches; -Dseed.kafka.io-threads / -Dseed.kafka.network-threads override them.
        p.put("num.io.threads", Integer.toString(Integer.getInteger("seed.kafka.io-threads", 2)));
        p.put("num.network.threads", Integer.toString(Integer.getInteger("seed.kafka.network-threads", 1)));
        p.put("background.threads", "2");
        return p;
    }

    /**
     * {@code n} free ports, all different: the sockets stay open until every port is picked, so the OS cannot hand
     * out the same one twice (two one-at-a-time picks can, and Kafka then refuses two listeners on one port).
     */
    static int[] distinctFreePorts(int n) {
        ServerSocket[] sockets = new ServerSocket[n];
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                sockets[i] = new ServerSocket(0);
                sockets[i].setReuseAddress(true);
                ports[i] = sockets[i].getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket s : sockets) {
                if (s != null) {
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // closing a probe socket cannot lose anything
                    }
                }
            }
        }
    }

    static boolean isBindFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.BindException
                    || (t.getMessage() != null && t.getMessage().contains("Address already in use"))) {
                return true;
            }
        }
        return false;
    }
}
