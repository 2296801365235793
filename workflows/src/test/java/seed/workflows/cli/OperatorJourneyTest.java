package seed.workflows.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.workflows.SeedCli;

/**
 * The operator's journey of issue 17 with the real commands against a real {@code seed server} host (Kafka,
 * PostgreSQL, the annotation store and Kestra on its H2 file backend, the operator API, {@code server.json} in the
 * work folder), all in this JVM: {@code seed run --work W} launches on the server that owns W instead of refusing;
 * {@code seed status} shows the running step, loss and ETA; {@code seed logs --stage seed.pretrain} (the name status
 * prints) works and an unknown stage is an error; {@code seed cancel} then {@code seed resume} continues the cancelled
 * run from its checkpoint; resuming a run that is still running is refused; {@code seed people add} makes a working
 * token while the server runs; misspelt and missing inputs are all named in seconds, before anything starts.
 */
class OperatorJourneyTest {

    @TempDir
    static Path dir;
    static Path work;
    static Hosts.Hosted server;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        work = dir.resolve("work");
        long t0 = System.nanoTime();
        server = Hosts.start(work, 0, "127.0.0.1", 0);
        System.out.printf("seed server host ready in %.1f s on a new work folder%n", (System.nanoTime() - t0) / 1e9);
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    record Result(int code, String out) {
    }

    /** Runs a {@code seed} command in this JVM and captures what it prints. */
    static synchronized Result seed(String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = System.out;
        PrintStream err = System.err;
        PrintStream both = new PrintStream(buf, true, StandardCharsets.UTF_8);
        System.setOut(both);
        System.setErr(both);
        int code;
        try {
            code = SeedCli.commandLine().execute(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        out.println("$ seed " + String.join(" ", args) + "  -> " + code + "\n" + text);
        return new Result(code, text);
    }

    @Test
    void launchOnTheServerWatchCancelAndResumeTheCancelledRun() throws Exception {
        Path corpus = Files.writeString(dir.resolve("corpus.txt"), "now is the winter of our discontent made glorious "
                + "summer by this sun of york. ".repeat(500));
        Result launched = seed("run", "--flow", "seed.pretrain", "--work", work.toString(), "--detach",
                "--input", "corpus=" + corpus, "--input", "steps=100000", "--input", "layers=1", "--input", "d_model=32",
                "--input", "heads=2", "--input", "context=32");
        assertEquals(0, launched.code(), launched.out());
        Matcher m = Pattern.compile("execution=(\\S+)").matcher(launched.out());
        assertTrue(m.find(), launched.out());
        String run = m.group(1);
        assertEquals(run, server.host().engine().require(run).getId(), "the run lives in the server's engine");

        Path runDir = seed.workflows.server.OperatorApiTest.awaitCheckpoint(server.host().engine(), run,
                Duration.ofMinutes(3));
        awaitLog(run, "/100000 (", Duration.ofMinutes(1)); // a progress line exists
        Result status = seed("status", run, "--work", work.toString());
        assertEquals(0, status.code(), status.out());
        assertTrue(status.out().matches("(?s).*pretrain\\s+RUNNING.*\\d+/100000 \\(\\d+%\\).*loss.*ETA.*"), status.out());

        Result logs = seed("logs", run, "--work", work.toString(), "--stage", "seed.pretrain");
        assertEquals(0, logs.code(), logs.out());
        assertTrue(logs.out().contains("pretrain: running in"), logs.out());
        Result unknownStage = seed("logs", run, "--work", work.toString(), "--stage", "seed.nope");
        assertNotEquals(0, unknownStage.code(), unknownStage.out());
        assertTrue(unknownStage.out().contains("no stage or task 'seed.nope'"), unknownStage.out());

        Result stillRunning = seed("resume", run, "--work", work.toString());
        assertNotEquals(0, stillRunning.code(), "resuming a running run must not pretend: " + stillRunning.out());
        assertTrue(stillRunning.out().contains("409") && stillRunning.out().contains("nothing to resume"),
                stillRunning.out());

        assertTrue(Files.exists(runDir.resolve(seed.stages.checkpoint.Checkpoints.LATEST)));
        Result cancel = seed("cancel", run, "--work", work.toString());
        assertEquals(0, cancel.code(), cancel.out());
        assertTrue(cancel.out().contains("state=KILLED"), cancel.out());

        Result resume = seed("resume", run, "--work", work.toString(), "--no-wait");
        assertEquals(0, resume.code(), resume.out());
        Matcher r = Pattern.compile("execution=(\\S+)").matcher(resume.out());
        assertTrue(r.find(), resume.out());
        String continued = r.group(1);
        awaitLog(continued, "resumed from", Duration.ofMinutes(2));
        String resumed = logText(continued);
        assertTrue(resumed.matches("(?s).*resumed from .* at step [1-9]\\d*.*"), resumed);
        assertTrue(resumed.contains("running in " + runDir), "the same stage folder continues: " + resumed);
        assertEquals(0, seed("cancel", continued, "--work", work.toString()).code());
    }

    @Test
    void peopleAreAddedWhileTheServerRunsAndTheirTokenWorks() throws Exception {
        Result added = seed("people", "add", "alice", "--role", "auditor", "--work", work.toString());
        assertEquals(0, added.code(), added.out());
        Matcher m = Pattern.compile("token=(\\S+)").matcher(added.out());
        assertTrue(m.find(), added.out());
        HttpResponse<String> runs = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/api/runs"))
                .header("Authorization", "Bearer " + m.group(1)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, runs.statusCode(), runs.body());
        HttpResponse<String> launch = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/api/runs"))
                .header("Authorization", "Bearer " + m.group(1)).POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(403, launch.statusCode(), "an auditor reads but does not launch: " + launch.body());
        Result badRole = seed("people", "add", "bob", "--role", "root", "--work", work.toString());
        assertNotEquals(0, badRole.code(), badRole.out());
    }

    @Test
    void everyInputProblemIsNamedAtOnceBeforeAnythingStarts() throws Exception {
        Path elsewhere = dir.resolve("never-created");
        long t0 = System.nanoTime();
        Result r = seed("run", "--flow", "seed.three-stage", "--work", elsewhere.toString(), "--input",
                "pretrain_stepz=5", "--input", "context=four", "--input", "rl_algorithm=dpo");
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertNotEquals(0, r.code());
        for (String expected : new String[] {"corpus", "sft_data", "prompts", "held_out_prompts", "report_dir",
                "unknown input 'pretrain_stepz' (did you mean 'pretrain_steps'?)", "context=four is not a int",
                "rl_algorithm=dpo is not one of [ppo, rloo, grpo]"}) {
            assertTrue(r.out().contains(expected), "missing '" + expected + "' in: " + r.out());
        }
        assertTrue(seconds < 3, "input errors took " + seconds + " s");
        assertFalse(Files.exists(elsewhere), "nothing may start (or be created) for invalid inputs");

        Result list = seed("run", "--flow", "seed.three-stage", "--list-inputs");
        assertEquals(0, list.code());
        assertTrue(list.out().matches("(?s).*pretrain_steps\\s+int, >= 0\\s+default 300.*"), list.out());
        Result flows = seed("flows");
        assertEquals(0, flows.code());
        assertTrue(flows.out().contains("seed.retrain") && flows.out().contains("min_new_rankings"), flows.out());

        // the API refuses the same way (Airflow's conf keys are flow inputs: an unknown one is an error, not dropped)
        HttpResponse<String> api = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/api/runs"))
                .header("Authorization", "Bearer " + server.token()).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"flow\": \"seed.pretrain\", \"inputs\": {\"corpus\": \"/x\", \"stepz\": 3}}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, api.statusCode(), api.body());
        assertTrue(api.body().contains("unknown input 'stepz' (did you mean 'steps'?)"), api.body());
        assertEquals("application/problem+json", api.headers().firstValue("Content-Type").orElse(""));
    }

    static String logText(String run) {
        StringBuilder sb = new StringBuilder();
        server.host().engine().logs(run).forEach(l -> sb.append(l.getMessage()).append('\n'));
        return sb.toString();
    }

    static void awaitLog(String run, String text, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (logText(run).contains(text)) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("no '" + text + "' in the logs of " + run + " within " + timeout + ":\n" + logText(run));
    }
}
