package seed.workflows.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.cli.ServeCommand;
import seed.stages.data.InstructionDataset;
import seed.stages.data.InstructionExample;
import seed.stages.data.SyntheticInstructions;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.train.TrainSettings;
import seed.stages.train.Trainer;
import seed.workflows.engine.SeedEngine;
import seed.workflows.engine.SeedHost;
import seed.workflows.lineage.LineageRecord;
import seed.workflows.lineage.LineageStore;

/**
 * Issue 20's promotion, end to end on real parts (embedded PostgreSQL, Kafka, Kestra, DJL): the {@code seed.promote}
 * flow evaluates three real checkpoints (an SFT model, an untrained one, the SFT model trained longer) and promotes
 * each with the same gates. The first becomes production; the untrained one, whose greedy answers are malformed,
 * stays candidate with the failing gate named; the better one becomes production and a running
 * {@code seed serve --alias production} serves it without a restart. Every change is a registry row and a signed
 * lineage record; the database refuses to edit the history.
 */
public class PromoteFlowTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final GptConfig SHAPE = new GptConfig(259, 96, 2, 64, 4);

    @Test
    void aWorsePolicyStaysCandidateAndABetterOneIsServedWithoutRestart(@TempDir Path dir) throws Exception {
        Path untrained = dir.resolve("untrained");
        Files.createDirectories(untrained);
        try (Gpt gpt = Gpt.initialize(SHAPE, 5)) {
            Checkpoints.writeModel(untrained, gpt, new ByteTokenizer());
        }
        Path good = sft(dir.resolve("good"), 200);
        Path better = sft(dir.resolve("better"), 400);
        Path heldOut = dir.resolve("held-out.jsonl");
        StringBuilder prompts = new StringBuilder();
        for (SyntheticInstructions.Example e : SyntheticInstructions.generate(24, 4, 0, 77)) {
            prompts.append(JSON.writeValueAsString(Map.of("prompt", e.prompt()))).append('\n');
        }
        Files.writeString(heldOut, prompts);

        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir.resolve("work"), 0, false, 2), Map.of())) {
            SeedEngine engine = host.engine();
            ModelRegistry registry = new ModelRegistry(host.annotation().infra().dataSource());

            Map<String, Object> first = promote(engine, untrained, good, heldOut, dir.resolve("r1"));
            assertEquals(Boolean.TRUE, first.get("promoted"), first.toString());
            assertEquals("production", first.get("alias"), first.toString());
            String goodId = (String) first.get("model_id");

            int port;
            try (ServerSocket free = new ServerSocket(0)) {
                port = free.getLocalPort();
            }
            javax.sql.DataSource ds = host.annotation().infra().dataSource();
            Thread serve = new Thread(() -> new CommandLine(new ServeCommand(alias -> new RegistryModelSource(ds,
                    alias, "the test's PostgreSQL", null))).execute("--alias", "production", "--port",
                    String.valueOf(port), "--poll-seconds", "0.2"), "seed-serve-test");
            serve.start();
            try {
                HttpClient http = HttpClient.newHttpClient();
                URI models = URI.create("http://127.0.0.1:" + port + "/v1/models");
                assertEquals(goodId.replace("candidate@", "production@"), awaitModel(http, models, null));

                Map<String, Object> worse = promote(engine, untrained, untrained, heldOut, dir.resolve("r2"));
                assertEquals(Boolean.FALSE, worse.get("promoted"), worse.toString());
                assertEquals("candidate", worse.get("alias"), worse.toString());
                assertTrue(String.valueOf(worse.get("failed_gates")).contains("checks:format"), worse.toString());
                assertTrue(String.valueOf(worse.get("summary")).contains("kept") && String.valueOf(
                        worse.get("summary")).contains("checks:format"), worse.toString());
                assertEquals(registry.current("production").orElseThrow().path(),
                        Path.of(registry.latestOf(registry.current("production").orElseThrow().sha256()).orElseThrow()
                                .path()).toString());
                String candidateSha = registry.current("candidate").orElseThrow().sha256();
                assertNotEquals(candidateSha, registry.current("production").orElseThrow().sha256());

                Map<String, Object> promoted = promote(engine, untrained, better, heldOut, dir.resolve("r3"));
                assertEquals(Boolean.TRUE, promoted.get("promoted"), promoted.toString());
                ModelRegistry.Entry production = registry.current("production").orElseThrow();
                assertEquals(better.toAbsolutePath().normalize().toString(), production.path());
                String served = awaitModel(http, models, production.modelId());
                assertEquals(production.modelId(), served, "the running server picked up the promotion");
                HttpResponse<String> completion = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + port + "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"production\",\"prompt\":\"What is 2 plus 3?\",\"max_tokens\":8,"
                                        + "\"temperature\":0}")).header("Content-Type", "application/json").build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, completion.statusCode(), completion.body());
                assertEquals(production.modelId(), JSON.readTree(completion.body()).path("model").asText());
            } finally {
                serve.interrupt();
                serve.join(20_000);
            }

            List<ModelRegistry.Entry> history = registry.history("production", 10);
            assertEquals(2, history.size(), history.toString());
            assertEquals(history.get(1).sha256(), history.get(0).previousSha256());
            assertEquals(3, registry.history("candidate", 10).size());
            // each change names its signed lineage record (stage promote, its gates and verdicts in the body)
            List<LineageRecord> promotes = new LineageStore(ds).completed("promote");
            assertEquals(3, promotes.size());
            for (ModelRegistry.Entry e : history) {
                assertTrue(promotes.stream().anyMatch(r -> r.taskRunId().equals(e.lineageTaskRun())), e.toString());
            }
            assertTrue(promotes.get(1).body().contains("checks:format"), promotes.get(1).body());
            // append-only: neither the application role nor the owner may rewrite the history
            try (var c = host.annotation().infra().ownerDataSource().getConnection(); var st = c.createStatement()) {
                var refused = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class,
                        () -> st.executeUpdate("UPDATE model_alias_history SET reason = 'x'"));
                assertTrue(refused.getMessage().contains("append-only"), refused.getMessage());
            }
        }
    }

    /** Runs seed.promote on {@code policy} and returns its outputs (the run must succeed). */
    private static Map<String, Object> promote(SeedEngine engine, Path sft, Path policy, Path heldOut, Path report)
            throws Exception {
        Map<String, Object> inputs = new LinkedHashMap<>();
        inputs.put("sft", sft.toString());
        inputs.put("policy", policy.toString());
        inputs.put("held_out_prompts", heldOut.toString());
        inputs.put("report_dir", report.toString());
        inputs.put("max_new_tokens", 40);
        // the evaluation reports on half the held-out prompts (the other half is the RL stage's selection set): 12 here,
        // where one prompt moves a rate by 0.083; the tiny models' rule rates differ by a prompt or two, the
        // untrained model's format rate by far more, and the format gate is what this test is about
        inputs.put("check_tolerance", 0.25);
        inputs.put("checks", "[\"polite-correct\"]"); // the demo's rule: its answer-shape (format) rate is gated
        // the evaluation now measures the policy's KL from the given SFT model; here that reference is the untrained
        // model, far from every trained one, so the KL bound is opened: this test is about the checks gate and serving
        // (PromotionGatesTest pins the KL gate)
        inputs.put("max_kl", 1000.0);
        Execution run = engine.awaitTerminated(engine.launch("seed.promote", inputs, "alice").getId(),
                Duration.ofMinutes(6));
        assertEquals(State.Type.SUCCESS, run.getState().getCurrent(), () -> run.getState() + " "
                + engine.logs(run.getId()).stream().map(l -> l.getMessage()).toList());
        return run.getOutputs();
    }

    /** Polls /v1/models until it answers (and names {@code expected}, if given); returns the id it shows. */
    public static String awaitModel(HttpClient http, URI models, String expected) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        String last = null;
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(models).build(),
                        HttpResponse.BodyHandlers.ofString());
                JsonNode data = JSON.readTree(r.body()).path("data");
                last = data.path(0).path("id").asText();
                if (expected == null || expected.equals(last)) {
                    return last;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        assertFalse(true, "the server showed " + last + ", expected " + expected);
        return last;
    }

    /** A tiny SFT model trained {@code steps} steps on the demo's instructions (the same data and seed each time). */
    private static Path sft(Path run, int steps) throws Exception {
        List<InstructionExample> examples = SyntheticInstructions.generate(3000, 4, 0.3, 11).stream()
                .map(e -> new InstructionExample(e.prompt(), e.response(), 0)).toList();
        ByteTokenizer tokenizer = new ByteTokenizer();
        try (Gpt gpt = Gpt.initialize(SHAPE, 5)) {
            InstructionDataset data = new InstructionDataset(examples, tokenizer, SHAPE.context(), 32, 0.05, 3, false);
            TrainSettings settings = new TrainSettings(steps, 32, 3e-3f, 3e-4f, 20, 0.0f, 1.0f, steps, steps, 1, 1,
                    5000);
            new Trainer("sft", gpt, tokenizer, data, settings, run, new PrintStream(OutputStream.nullOutputStream()))
                    .run(null, 0);
        }
        return run;
    }
}
