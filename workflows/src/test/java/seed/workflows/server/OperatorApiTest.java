package seed.workflows.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.checkpoint.Checkpoints;
import seed.workflows.demo.DemoInputs;
import seed.workflows.engine.SeedHost;

/**
 * The operators' HTTP surface as an outside client uses it, against the real embedded engine: Airflow's stable REST
 * API triggers the whole three-stage flow and watches it to success task by task; cancelling a running pretraining
 * the Airflow way (PATCH state=failed) kills it within 10 s and leaves only complete checkpoints; tokens that are
 * missing, unknown or of the wrong role are refused with the reason.
 */
public class OperatorApiTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final DemoInputs TINY = new DemoInputs(7, 96, 2, 64, 4, 60, 150, 40, 4, 48);

    @TempDir
    static Path dir;
    static SeedHost host;
    static OperatorApi api;
    static String base;
    static String operator;
    static String annotator;
    static String auditor;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        host = SeedHost.start(new SeedHost.Options(dir, 0, false, 2), Map.of());
        api = new OperatorApi(host.engine(), host.annotation().catalog()::authenticate);
        base = "http://127.0.0.1:" + api.start("127.0.0.1", 0);
        operator = host.annotation().addAnnotator("op", "operator").token();
        annotator = host.annotation().addAnnotator("ann", "annotator").token();
        auditor = host.annotation().addAnnotator("aud", "auditor").token();
    }

    @AfterAll
    static void stop() {
        if (api != null) {
            api.close();
        }
        if (host != null) {
            host.close();
        }
    }

    @Test
    void airflowClientTriggersAndWatchesTheThreeStageFlow() throws Exception {
        HttpResponse<String> dags = call("GET", "/api/v1/dags", null, bearer(operator));
        assertEquals(200, dags.statusCode(), dags.body());
        List<String> ids = new ArrayList<>();
        JSON.readTree(dags.body()).path("dags").forEach(d -> ids.add(d.path("dag_id").asText()));
        assertTrue(ids.containsAll(List.of("seed.three-stage", "seed.pretrain", "seed.rlhf", "seed.retrain")), ids.toString());

        Map<String, Object> conf = TINY.write(dir.resolve("data"), dir.resolve("report"));
        String body = JSON.writeValueAsString(Map.of("dag_run_id", "nightly-1", "conf", conf));
        // Basic auth with the token as password, as Airflow clients send it
        HttpResponse<String> created = call("POST", "/api/v1/dags/seed.three-stage/dagRuns", body, basic(operator));
        assertEquals(200, created.statusCode(), created.body());
        assertEquals("nightly-1", JSON.readTree(created.body()).path("dag_run_id").asText());

        String state = "queued";
        long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
        while (!state.equals("success") && !state.equals("failed") && System.nanoTime() < deadline) {
            Thread.sleep(1000);
            HttpResponse<String> run = call("GET", "/api/v1/dags/seed.three-stage/dagRuns/nightly-1", null,
                    bearer(operator));
            assertEquals(200, run.statusCode(), run.body());
            state = JSON.readTree(run.body()).path("state").asText();
        }
        HttpResponse<String> tis = call("GET", "/api/v1/dags/seed.three-stage/dagRuns/nightly-1/taskInstances", null,
                bearer(operator));
        assertEquals("success", state, tis.body());
        List<String> tasks = new ArrayList<>();
        List<String> stageTasks = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (JsonNode ti : JSON.readTree(tis.body()).path("task_instances")) {
            assertEquals("nightly-1", ti.path("dag_run_id").asText());
            String id = ti.path("task_id").asText();
            if (ti.path("state").asText().equals("skipped")) { // a step whose runIf is false (Airflow's state name)
                skipped.add(id);
                continue;
            }
            assertEquals("success", ti.path("state").asText(), ti.toString());
            (id.contains(".") ? stageTasks : tasks).add(id);
        }
        assertEquals(List.of("curate", "sweep_pretrain", "sweep_sft", "dpo"), skipped,
                "curation and the sweep are off and the alignment is PPO by default");
        assertEquals(List.of("pretrain", "sft", "annotate", "reward", "rlhf", "current_policy", "current_sft",
                "retrain_settings", "evaluate", "promote"), tasks);
        // each stage's own tasks too, as stage.task (issue 17)
        assertTrue(stageTasks.containsAll(List.of("pretrain.pretrain", "sft.sft", "annotate.candidates",
                "reward.reward", "rlhf.rlhf")), stageTasks.toString());

        HttpResponse<String> list = call("GET", "/api/v1/dags/seed.three-stage/dagRuns", null, bearer(operator));
        assertTrue(JSON.readTree(list.body()).path("total_entries").asInt() >= 1, list.body());
    }

    @Test
    void cancellingARunningPretrainKillsItWithinTenSecondsAndLeavesOnlyCompleteCheckpoints() throws Exception {
        Path corpus = dir.resolve("long-corpus.txt");
        Files.writeString(corpus, "to be or not to be, that is the question. ".repeat(400));
        String body = JSON.writeValueAsString(Map.of("conf", Map.of("corpus", corpus.toString(), "steps", 1_000_000,
                "layers", 1, "d_model", 32, "heads", 2, "context", 32, "seed", 99)));
        HttpResponse<String> created = call("POST", "/api/v1/dags/seed.pretrain/dagRuns", body, bearer(operator));
        assertEquals(200, created.statusCode(), created.body());
        String run = JSON.readTree(created.body()).path("dag_run_id").asText();

        Path runDir = awaitCheckpoint(run, Duration.ofMinutes(3));
        long t0 = System.nanoTime();
        HttpResponse<String> patched = call("PATCH", "/api/v1/dags/seed.pretrain/dagRuns/" + run,
                "{\"state\": \"failed\"}", bearer(operator));
        assertEquals(200, patched.statusCode(), patched.body());
        String kestraState = "";
        while (System.nanoTime() - t0 < Duration.ofSeconds(10).toNanos()) {
            kestraState = host.engine().require(run).getState().getCurrent().toString();
            if (kestraState.equals("KILLED")) {
                break;
            }
            Thread.sleep(100);
        }
        assertEquals("KILLED", kestraState, "not killed within 10 s");
        Thread.sleep(1500); // the interrupted step finishes; nothing may be left half-written after it
        assertTrue(Files.notExists(runDir.resolve("done.json")), "a cancelled stage must not look complete");
        Path latest = Checkpoints.resolve(runDir);
        for (String f : List.of(Checkpoints.CONFIG, Checkpoints.MODEL, Checkpoints.OPTIMIZER, Checkpoints.STATE)) {
            assertTrue(Files.isRegularFile(latest.resolve(f)), latest + " lacks " + f);
        }
        try (Stream<Path> cks = Files.list(runDir.resolve(Checkpoints.DIR))) {
            for (Path ck : cks.filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
                assertTrue(Files.isRegularFile(ck.resolve(Checkpoints.MODEL)), "incomplete checkpoint " + ck);
            }
        }
        HttpResponse<String> again = call("PATCH", "/api/v1/dags/seed.pretrain/dagRuns/" + run,
                "{\"state\": \"running\"}", bearer(operator));
        assertEquals(400, again.statusCode(), again.body());
    }

    @Test
    void tokensThatAreMissingUnknownOrOfTheWrongRoleAreRefusedWithTheReason() throws Exception {
        HttpResponse<String> none = call("GET", "/api/runs", null, null);
        assertEquals(401, none.statusCode());
        assertTrue(none.body().contains("missing token"), none.body());
        HttpResponse<String> wrong = call("GET", "/api/v1/dags", null, bearer("not-a-token"));
        assertEquals(401, wrong.statusCode());
        HttpResponse<String> ann = call("POST", "/api/runs", "{\"flow\": \"seed.pretrain\"}", bearer(annotator));
        assertEquals(403, ann.statusCode());
        assertTrue(ann.body().contains("annotator"), ann.body());
        HttpResponse<String> audits = call("GET", "/api/runs", null, bearer(auditor));
        assertEquals(200, audits.statusCode(), "auditors read runs: " + audits.body());
        HttpResponse<String> auditorLaunch = call("POST", "/api/v1/dags/seed.pretrain/dagRuns", "{}", bearer(auditor));
        assertEquals(403, auditorLaunch.statusCode());
        assertTrue(auditorLaunch.body().contains("auditor"), auditorLaunch.body());
        HttpResponse<String> unknownFlow = call("POST", "/api/runs", "{\"flow\": \"seed.nope\"}", bearer(operator));
        assertEquals(400, unknownFlow.statusCode());
        assertTrue(unknownFlow.body().contains("unknown flow"), unknownFlow.body());
        HttpResponse<String> badInput = call("POST", "/api/runs", "{\"flow\": \"seed.pretrain\", \"inputs\": "
                + "{\"corpus\": \"/x\", \"steps\": -5}}", bearer(operator));
        assertEquals(400, badInput.statusCode(), badInput.body());
        assertTrue(badInput.body().contains("steps"), badInput.body());
        HttpResponse<String> missing = call("GET", "/api/runs/nope", null, bearer(operator));
        assertEquals(404, missing.statusCode());
    }

    /** The run's own work folder (the task logs it), once it holds a complete checkpoint. */
    static Path awaitCheckpoint(String run, Duration timeout) throws Exception {
        return awaitCheckpoint(host.engine(), run, timeout);
    }

    /** The same for a run of any engine (other tests' hosts). */
    public static Path awaitCheckpoint(seed.workflows.engine.SeedEngine engine, String run, Duration timeout)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Path runDir = engine.logs(run).stream().map(l -> l.getMessage())
                    .filter(m -> m.startsWith("pretrain: running in ")).map(m -> Path.of(m.substring(21).strip()))
                    .findFirst().orElse(null);
            if (runDir != null && Files.exists(runDir.resolve(Checkpoints.LATEST))) {
                return runDir;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no checkpoint written within " + timeout);
    }

    static String bearer(String token) {
        return "Bearer " + token;
    }

    static String basic(String token) {
        return "Basic " + Base64.getEncoder().encodeToString(("airflow:" + token).getBytes(StandardCharsets.UTF_8));
    }

    static HttpResponse<String> call(String method, String path, String body, String auth) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        if (auth != null) {
            b.header("Authorization", auth);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
