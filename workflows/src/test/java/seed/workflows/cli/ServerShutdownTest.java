package seed.workflows.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17, item 8: SIGTERM to {@code seed server} in the middle of a run. The JVM's shutdown hooks run all at once
 * and the embedded PostgreSQL has its own, so it stopped under the worker and the killed task's lineage record was
 * lost ("Interrupted during connection acquisition"). Now the server stops in order on the signal: the running task
 * is killed and its end reaches the lineage store while PostgreSQL is still up, then the services stop, and the
 * process exits with 143 (128 + SIGTERM). A forked JVM, so the signal and the hooks are real.
 */
class ServerShutdownTest {

    @Test
    void sigtermMidRunStopsTheEngineBeforePostgresAndTheLineageRecordIsWritten(@TempDir Path dir) throws Exception {
        Path corpus = Files.writeString(dir.resolve("corpus.txt"), "the quality of mercy is not strained; it droppeth "
                + "as the gentle rain from heaven. ".repeat(500));
        Path work = dir.resolve("work");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1",
                "-Dai.djl.pytorch.num_interop_threads=1", "-cp", System.getProperty("java.class.path"),
                "seed.workflows.SeedCli", "server", "--work", work.toString(), "--port", String.valueOf(port),
                "--annotation-port", "0");
        Path log = dir.resolve("server.log");
        long t0 = System.nanoTime();
        Process server = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            await(() -> Files.readString(log).lines().anyMatch("ready"::equals), server, log, Duration.ofMinutes(3));
            System.out.printf("seed server ready in %.1f s (new work folder, forked JVM)%n",
                    (System.nanoTime() - t0) / 1e9);
            String token = Files.readString(work.resolve(Hosts.TOKEN_FILE)).strip();
            String body = new ObjectMapper().writeValueAsString(Map.of("flow", "seed.pretrain", "inputs",
                    Map.of("corpus", corpus.toString(), "steps", 100000, "layers", 1, "d_model", 32, "heads", 2,
                            "context", 32)));
            HttpResponse<String> launched = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/api/runs")).header("Authorization", "Bearer " + token)
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(201, launched.statusCode(), launched.body());
            await(() -> Files.readString(log).contains("/100000 ("), server, log, Duration.ofMinutes(3));

            server.destroy(); // SIGTERM
            assertTrue(server.waitFor(90, TimeUnit.SECONDS), "the server did not stop within 90 s");
        } finally {
            if (server.isAlive()) {
                server.destroyForcibly().waitFor();
            }
            server.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        }
        String text = Files.readString(log);
        System.out.println("---- the forked server's output ----\n" + text);
        assertEquals(143, server.exitValue(), text.substring(Math.max(0, text.length() - 4000)));
        int stopping = text.indexOf("seed: SIGTERM: stopping the engine");
        int recorded = text.indexOf("pretrain: lineage recorded the end of this run");
        assertTrue(stopping >= 0 && recorded > stopping, "the killed task's end must reach lineage after the signal: "
                + text.substring(Math.max(0, text.length() - 6000)));
        assertTrue(text.indexOf("seed: stopped") > recorded, "services stop after the task ended");
        assertFalse(text.contains("Interrupted during connection acquisition"), text);
        assertFalse(text.contains("lineage recorder is closed"), text);
        assertFalse(text.contains("lineage could not record"), text);
        assertFalse(Files.exists(work.resolve(Hosts.SERVER_FILE)), "server.json is removed on a clean stop");
    }

    interface Check {
        boolean ok() throws Exception;
    }

    static void await(Check c, Process p, Path log, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (c.ok()) {
                return;
            }
            if (!p.isAlive()) {
                throw new AssertionError("seed server exited early: " + Files.readString(log));
            }
            Thread.sleep(250);
        }
        throw new AssertionError("timed out after " + timeout + ": " + Files.readString(log));
    }
}
