package seed.workflows.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import seed.workflows.SeedCli;

/**
 * {@code seed deploy} through Kestra's own Java SDK against a local HTTP endpoint that answers as Kestra's REST API
 * does and checks each request the way that API would: the path (tenant, namespace, flow id), the method, the YAML
 * content type and body, the token. No Kestra server runs here, so this shows the client speaks Kestra's API, not
 * that a particular Kestra version accepts the flows (the embedded engine's tests show they parse and run).
 */
class DeployCommandTest {

    HttpServer server;
    final List<String> requests = new ArrayList<>();
    final List<String> problems = new ArrayList<>();
    final Set<String> existing = new HashSet<>();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void handle(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getPath();
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        requests.add(method + " " + path);
        if (!"Bearer secret-token".equals(ex.getRequestHeaders().getFirst("Authorization"))) {
            reply(ex, 401, "{\"message\":\"unauthorized\"}");
            return;
        }
        String type = String.valueOf(ex.getRequestHeaders().getFirst("Content-Type"));
        if (!type.startsWith("application/x-yaml")) {
            problems.add(method + " " + path + " sent Content-Type " + type);
        }
        if (method.equals("POST") && path.equals("/api/v1/main/flows/validate")) {
            List<Map<String, Object>> out = new ArrayList<>();
            int i = 0;
            for (Object doc : new Yaml().loadAll(body)) {
                Map<?, ?> flow = (Map<?, ?>) doc;
                out.add(Map.of("index", i++, "namespace", flow.get("namespace"), "flow", flow.get("id")));
            }
            reply(ex, 200, new ObjectMapper().writeValueAsString(out));
            return;
        }
        Map<?, ?> flow = new Yaml().load(body);
        if (method.equals("PUT") && path.startsWith("/api/v1/main/flows/")) {
            String[] parts = path.substring("/api/v1/main/flows/".length()).split("/");
            if (!parts[0].equals(flow.get("namespace")) || !parts[1].equals(flow.get("id"))) {
                problems.add("PUT " + path + " carries flow " + flow.get("namespace") + "." + flow.get("id"));
            }
            if (!existing.contains(parts[0] + "." + parts[1])) {
                reply(ex, 404, "{\"message\":\"flow not found\"}");
                return;
            }
            reply(ex, 200, flowJson(flow, body));
            return;
        }
        if (method.equals("POST") && path.equals("/api/v1/main/flows")) {
            existing.add(flow.get("namespace") + "." + flow.get("id"));
            reply(ex, 200, flowJson(flow, body));
            return;
        }
        problems.add("unexpected " + method + " " + path);
        reply(ex, 404, "{\"message\":\"no such endpoint\"}");
    }

    private static String flowJson(Map<?, ?> flow, String source) throws IOException {
        return new ObjectMapper().writeValueAsString(Map.of("id", flow.get("id"), "namespace", flow.get("namespace"),
                "revision", 1, "source", source));
    }

    private static void reply(HttpExchange ex, int status, String json) throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }

    @Test
    void deployValidatesThenCreatesThenUpdatesEveryFlowInTheChosenNamespace() {
        String url = "http://127.0.0.1:" + server.getAddress().getPort();
        int first = SeedCli.commandLine().execute("deploy", "--kestra-url", url, "--namespace", "ml.seed", "--token",
                "secret-token");
        assertEquals(0, first, requests.toString());
        assertEquals(List.of(), problems);
        assertEquals(seed.workflows.engine.SeedEngine.FLOW_FILES.size(), existing.size(), existing.toString());
        assertTrue(existing.contains("ml.seed.three-stage") && existing.contains("ml.seed.pretrain"), existing.toString());
        assertEquals("POST /api/v1/main/flows/validate", requests.get(0));

        requests.clear();
        int second = SeedCli.commandLine().execute("deploy", "--kestra-url", url, "--namespace", "ml.seed", "--token",
                "secret-token");
        assertEquals(0, second);
        assertTrue(requests.stream().skip(1).allMatch(r -> r.startsWith("PUT /api/v1/main/flows/ml.seed/")),
                requests.toString());

        int refused = SeedCli.commandLine().execute("deploy", "--kestra-url", url, "--token", "wrong");
        assertEquals(1, refused);
    }
}
