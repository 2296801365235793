package seed.workflows.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.workflows.engine.SeedHost;

/**
 * An Airflow-style script against Seed's Airflow-compatible API and the real embedded engine, every response body
 * validated with a JSON-schema validator against Airflow's schemas (DAGRun, TaskInstance, Error, ...; see
 * {@code airflow/schemas.json}): health and version without a token; DAG listing with limit, offset and a pattern;
 * DAG details and tasks; a trigger with dag_run_id, conf, logical_date and note, which fails (its corpus is not
 * there yet) after Kestra's retry; a duplicate dag_run_id is a 409 and a misspelt conf key a 400; task instances
 * with try_number 2 of max_tries 1 and each try's log; PATCH to success refused with 409; clearTaskInstances (dry
 * run, then for real) resumes the run, which then finishes; the runs list filters by state with a true total.
 */
class AirflowScriptTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient http = HttpClient.newHttpClient();
    static final JsonSchemaFactory SCHEMAS = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    static JsonNode schemas;

    @TempDir
    static Path dir;
    static SeedHost host;
    static OperatorApi api;
    static String base;
    static String token;
    static final List<String> validated = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        try (InputStream in = AirflowScriptTest.class.getResourceAsStream("/airflow/schemas.json")) {
            schemas = JSON.readTree(in);
        }
        host = SeedHost.start(new SeedHost.Options(dir, 0, false, 2), Map.of());
        api = new OperatorApi(host.engine(), host.annotation().catalog()::authenticate);
        base = "http://127.0.0.1:" + api.start("127.0.0.1", 0) + "/api/v1";
        token = host.annotation().addAnnotator("script", "operator").token();
    }

    @AfterAll
    static void stop() {
        System.out.println("validated against Airflow's schemas: " + validated);
        if (api != null) {
            api.close();
        }
        if (host != null) {
            host.close();
        }
    }

    @Test
    void anAirflowScriptTriggersWatchesReadsLogsAndClearsAFailedTask() throws Exception {
        JsonNode health = expect(200, "GET", "/health", null, null, "HealthInfo");
        assertEquals("healthy", health.path("scheduler").path("status").asText());
        expect(200, "GET", "/version", null, null, "VersionInfo");
        JsonNode unauth = expect(401, "GET", "/dags", null, null, "Error");
        assertTrue(unauth.path("title").asText().contains("token"), unauth.toString());

        JsonNode dags = expect(200, "GET", "/dags?limit=2&offset=1", null, token, "DAGCollection");
        assertEquals(2, dags.path("dags").size());
        assertEquals(seed.workflows.engine.SeedEngine.FLOW_FILES.size(), dags.path("total_entries").asInt(),
                "total_entries counts every DAG, not the page");
        JsonNode rlhf = expect(200, "GET", "/dags?dag_id_pattern=rlhf", null, token, "DAGCollection");
        assertEquals("seed.rlhf", rlhf.path("dags").get(0).path("dag_id").asText());
        assertEquals(1, rlhf.path("total_entries").asInt());
        JsonNode details = expect(200, "GET", "/dags/seed.pretrain/details", null, token, "DAG");
        assertTrue(details.path("params").has("corpus"), details.toString());
        JsonNode tasks = expect(200, "GET", "/dags/seed.pretrain/tasks", null, token, "TaskCollection");
        assertEquals(1, tasks.path("tasks").get(0).path("retries").asInt(), "the flow retries pretraining once");

        Path corpus = dir.resolve("later.txt"); // not there yet: the run fails, is cleared once it exists
        Map<String, Object> conf = new LinkedHashMap<>(Map.of("corpus", corpus.toString(), "steps", 3, "layers", 1,
                "d_model", 16, "heads", 2, "context", 8, "batch", 4));
        Map<String, Object> trigger = new LinkedHashMap<>();
        trigger.put("dag_run_id", "script-1");
        trigger.put("conf", conf);
        trigger.put("logical_date", "2026-01-02T03:04:05+00:00");
        trigger.put("note", "from an Airflow script");
        JsonNode created = expect(200, "POST", "/dags/seed.pretrain/dagRuns", JSON.writeValueAsString(trigger), token,
                "DAGRun");
        assertEquals("script-1", created.path("dag_run_id").asText());
        assertEquals("2026-01-02T03:04:05Z", created.path("logical_date").asText());
        assertEquals("from an Airflow script", created.path("note").asText());
        assertEquals("queued", created.path("state").asText());
        JsonNode dup = expect(409, "POST", "/dags/seed.pretrain/dagRuns", JSON.writeValueAsString(trigger), token,
                "Error");
        assertTrue(dup.path("detail").asText().contains("already exists"), dup.toString());
        Map<String, Object> misspelt = new LinkedHashMap<>(trigger);
        misspelt.put("dag_run_id", "script-2");
        misspelt.put("conf", Map.of("corpus", corpus.toString(), "stepz", 3));
        JsonNode bad = expect(400, "POST", "/dags/seed.pretrain/dagRuns", JSON.writeValueAsString(misspelt), token,
                "Error");
        assertTrue(bad.path("detail").asText().contains("unknown input 'stepz'"), bad.toString());

        JsonNode failed = poll("script-1", Duration.ofMinutes(3));
        assertEquals("failed", failed.path("state").asText(), failed.toString());
        assertEquals("from an Airflow script", failed.path("note").asText());

        JsonNode tis = expect(200, "GET", "/dags/seed.pretrain/dagRuns/script-1/taskInstances", null, token,
                "TaskInstanceCollection");
        JsonNode ti = tis.path("task_instances").get(0);
        assertEquals("pretrain", ti.path("task_id").asText());
        assertEquals("failed", ti.path("state").asText());
        assertEquals(1, ti.path("max_tries").asInt());
        assertEquals(2, ti.path("try_number").asInt(), "Kestra retried once: " + ti);
        expect(200, "GET", "/dags/seed.pretrain/dagRuns/script-1/taskInstances/pretrain", null, token,
                "TaskInstance");
        for (int t = 1; t <= 2; t++) {
            JsonNode log = expect(200, "GET", "/dags/seed.pretrain/dagRuns/script-1/taskInstances/pretrain/logs/" + t,
                    null, token, null);
            assertTrue(log.path("content").asText().contains("later.txt"), "try " + t + ": " + log);
        }
        expect(404, "GET", "/dags/seed.pretrain/dagRuns/script-1/taskInstances/pretrain/logs/3", null, token, "Error");

        JsonNode toSuccess = expect(409, "PATCH", "/dags/seed.pretrain/dagRuns/script-1", "{\"state\": \"success\"}",
                token, "Error");
        assertTrue(toSuccess.path("detail").asText().contains("cannot mark"), toSuccess.toString());

        Files.writeString(corpus, "a rose by any other name would smell as sweet. ".repeat(40));
        String clear = "{\"dag_run_id\": \"script-1\", \"only_failed\": true}";
        JsonNode dry = expect(200, "POST", "/dags/seed.pretrain/clearTaskInstances", clear, token,
                "TaskInstanceReferenceCollection");
        assertEquals("pretrain", dry.path("task_instances").get(0).path("task_id").asText());
        assertEquals("failed", expect(200, "GET", "/dags/seed.pretrain/dagRuns/script-1", null, token, "DAGRun")
                .path("state").asText(), "a dry run changes nothing");
        expect(200, "POST", "/dags/seed.pretrain/clearTaskInstances",
                "{\"dag_run_id\": \"script-1\", \"dry_run\": false}", token, "TaskInstanceReferenceCollection");
        JsonNode done = poll("script-1", Duration.ofMinutes(3));
        assertEquals("success", done.path("state").asText(), done.toString());

        JsonNode ok = expect(200, "GET", "/dags/seed.pretrain/dagRuns?state=success&limit=1", null, token,
                "DAGRunCollection");
        assertEquals("script-1", ok.path("dag_runs").get(0).path("dag_run_id").asText());
        assertEquals(1, ok.path("total_entries").asInt());
        expect(400, "GET", "/dags/seed.pretrain/dagRuns?order_by=nope", null, token, "Error");
        expect(404, "GET", "/dags/seed.nope/dagRuns", null, token, "Error");
    }

    /** Polls the run as a script would, until it ends (Airflow's terminal DAG states). */
    static JsonNode poll(String runId, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode r = expect(200, "GET", "/dags/seed.pretrain/dagRuns/" + runId, null, token, "DAGRun");
            String s = r.path("state").asText();
            if (s.equals("success") || s.equals("failed") || System.nanoTime() > deadline) {
                return r;
            }
            Thread.sleep(500);
        }
    }

    /** Sends the request, checks the status and (for a schema name) validates the body against Airflow's schema. */
    static JsonNode expect(int status, String method, String path, String body, String tok, String schema)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").header("Accept", "application/json");
        if (tok != null) {
            b.header("Authorization", "Bearer " + tok);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(status, r.statusCode(), method + " " + path + ": " + r.body());
        JsonNode n = JSON.readTree(r.body());
        if (status >= 400) {
            assertEquals("application/problem+json", r.headers().firstValue("Content-Type").orElse(""), path);
            if (status == 401) {
                assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Basic"), path);
            }
        }
        if (schema != null) {
            ObjectNode s = ((ObjectNode) schemas.deepCopy()).put("$ref", "#/$defs/" + schema);
            Set<ValidationMessage> errors = SCHEMAS.getSchema(s).validate(n);
            assertTrue(errors.isEmpty(), method + " " + path + " is not a valid " + schema + ": " + errors + "\n" + n);
            validated.add(schema);
        }
        return n;
    }
}
