package seed.workflows.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.cli.ServeCommand;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;
import seed.workflows.SeedCli;
import seed.workflows.lineage.LineageRecord;
import seed.workflows.lineage.LineageStore;
import seed.workflows.registry.ModelRegistry;
import seed.workflows.registry.ServerModelSource;

/**
 * The model registry while {@code seed server} owns the work folder (its PostgreSQL and Kafka cannot be started a
 * second time): the operator API's {@code /api/models} endpoints refuse auditors' changes (403) and missing or
 * unknown tokens (401), record an operator's promotion as a history row and a signed lineage record;
 * {@code seed models/promote/rollback --work W} go through that server; {@code seed serve --alias} asks it over HTTP
 * and picks up a promotion without a restart.
 */
class RegistryOnServerTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static Path work;
    static Hosts.Hosted server;
    static String auditor;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        work = dir.resolve("work");
        server = Hosts.start(work, 0, "127.0.0.1", 0);
        auditor = server.host().annotation().addAnnotator("audrey", "auditor").token();
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void registryThroughTheOwningServer() throws Exception {
        Path a = checkpoint(dir.resolve("a"), 1);
        Path b = checkpoint(dir.resolve("b"), 2);
        String promoteA = JSON.writeValueAsString(Map.of("model", a.toString(), "reason", "first"));

        HttpResponse<String> none = call("POST", "/api/models/promote", promoteA, null);
        assertEquals(401, none.statusCode(), none.body());
        HttpResponse<String> wrong = call("POST", "/api/models/promote", promoteA, "not-a-token");
        assertEquals(401, wrong.statusCode(), wrong.body());
        HttpResponse<String> byAuditor = call("POST", "/api/models/promote", promoteA, auditor);
        assertEquals(403, byAuditor.statusCode(), byAuditor.body());
        assertTrue(byAuditor.body().contains("may not promote"), byAuditor.body());
        HttpResponse<String> noReason = call("POST", "/api/models/promote", JSON.writeValueAsString(
                Map.of("model", a.toString())), server.token());
        assertEquals(400, noReason.statusCode(), noReason.body());

        HttpResponse<String> ok = call("POST", "/api/models/promote", promoteA, server.token());
        assertEquals(200, ok.statusCode(), ok.body());
        JsonNode entry = JSON.readTree(ok.body()).path("entry");
        assertEquals("production", entry.path("alias").asText());
        assertEquals("promote", entry.path("action").asText());
        assertEquals("first", entry.path("reason").asText());
        String shaA = entry.path("sha256").asText();
        javax.sql.DataSource ds = server.host().annotation().infra().dataSource();
        ModelRegistry registry = new ModelRegistry(ds);
        ModelRegistry.Entry stored = registry.current("production").orElseThrow();
        assertEquals(shaA, stored.sha256());
        String operatorName = stored.changedBy();
        assertTrue(operatorName.startsWith("operator-"), operatorName);
        List<LineageRecord> records = new LineageStore(ds).completed("registry");
        assertEquals(1, records.size(), records.toString());
        assertEquals(stored.lineageTaskRun(), records.get(0).taskRunId());
        assertEquals(operatorName, records.get(0).run().launchedBy());

        HttpResponse<String> list = call("GET", "/api/models", null, auditor);
        assertEquals(200, list.statusCode(), list.body());
        assertEquals(shaA, JSON.readTree(list.body()).path("aliases").path(0).path("sha256").asText());

        // the commands, with the server owning --work: its operator token is read from the work folder
        Run models = seed("models", "--work", work.toString());
        assertEquals(0, models.code(), models.out());
        assertTrue(models.out().contains("production@" + shaA.substring(0, 12)), models.out());
        assertTrue(models.out().matches("(?s).*production +promote +" + shaA.substring(0, 12) + " by " + operatorName
                + ": first.*"), models.out());
        Run refused = seed("promote", "--work", work.toString(), "--token", auditor, "--model", b.toString(),
                "--reason", "try");
        assertEquals(2, refused.code(), refused.out());
        assertTrue(refused.out().contains("403") && refused.out().contains("may not promote"), refused.out());

        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        Thread serve = new Thread(() -> new CommandLine(new ServeCommand(alias -> new ServerModelSource(
                OperatorClient.live(null, auditor, work).orElseThrow(), alias))).execute("--alias", "production",
                "--port", String.valueOf(port), "--poll-seconds", "0.2"), "seed-serve-test");
        serve.start();
        try {
            URI v1 = URI.create("http://127.0.0.1:" + port + "/v1/models");
            assertEquals("production@" + shaA.substring(0, 12), awaitModel(v1, null));

            Run second = seed("promote", "--work", work.toString(), "--model", b.toString(), "--reason", "second");
            assertEquals(0, second.code(), second.out());
            String shaB = registry.current("production").orElseThrow().sha256();
            assertTrue(second.out().contains("sha256=" + shaB), second.out());
            assertEquals("production@" + shaB.substring(0, 12), awaitModel(v1, "production@" + shaB.substring(0, 12)),
                    "the running serve picked up the promotion made through the server");

            Run back = seed("rollback", "--work", work.toString(), "--reason", "b answers badly");
            assertEquals(0, back.code(), back.out());
            assertTrue(back.out().contains("rolled_back_from=production@" + shaB.substring(0, 12)), back.out());
            assertEquals(shaA, registry.current("production").orElseThrow().sha256());
            assertEquals("production@" + shaA.substring(0, 12), awaitModel(v1, "production@" + shaA.substring(0, 12)));
        } finally {
            serve.interrupt();
            serve.join(20_000);
        }
        assertEquals(3, new LineageStore(ds).completed("registry").size());
    }

    private record Run(int code, String out) {
    }

    private static Run seed(String... args) {
        StringWriter out = new StringWriter();
        CommandLine cl = SeedCli.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(out, true));
        int code = cl.execute(args);
        System.out.println("$ seed " + String.join(" ", args) + "  -> " + code + "\n" + out);
        return new Run(code, out.toString());
    }

    private static HttpResponse<String> call(String method, String path, String body, String token)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.url() + path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String awaitModel(URI models, String expected) throws Exception {
        return seed.workflows.registry.PromoteFlowTest.awaitModel(http, models, expected);
    }

    private static Path checkpoint(Path folder, long seed) throws Exception {
        Files.createDirectories(folder);
        try (Gpt gpt = Gpt.initialize(new GptConfig(259, 32, 1, 16, 2), seed)) {
            Checkpoints.writeModel(folder, gpt, new ByteTokenizer());
        }
        return folder;
    }
}
