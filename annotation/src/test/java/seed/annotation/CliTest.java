package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import seed.annotation.cli.AnnotateCommand;
import seed.annotation.infra.Infra;
import seed.annotation.infra.InfraConfig;

/**
 * The {@code seed annotate} commands in-process. Most point at one running Kafka + PostgreSQL through the external
 * flags (so "external services are configuration" is exercised); one checks that the embedded default keeps its data
 * between commands.
 */
class CliTest {

    @TempDir
    static Path dir;
    static Infra infra;

    @BeforeAll
    static void start() {
        infra = Infra.start(InfraConfig.embedded(dir.resolve("services")));
    }

    @AfterAll
    static void stop() {
        if (infra != null) {
            infra.close();
        }
    }

    record Run(int code, String out, String err) {
    }

    static Run run(List<String> args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new AnnotateCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    static Run external(String... args) {
        List<String> a = new ArrayList<>(List.of(args));
        a.addAll(List.of("--kafka-bootstrap", infra.kafkaBootstrap(), "--jdbc-url", infra.jdbcUrl(),
                "--jdbc-user", infra.jdbcUser(), "--jdbc-password", infra.jdbcPassword(), "--data-dir",
                dir.resolve("cli").toString()));
        return run(a);
    }

    static String value(String out, String key) {
        return out.lines().filter(l -> l.startsWith(key + "=")).findFirst().orElseThrow(
                () -> new AssertionError("no " + key + "= in output:\n" + out)).substring(key.length() + 1);
    }

    @Test
    void operatorWorkflowAgainstConfiguredServices() throws Exception {
        Run add = external("add-annotator", "--name", "cli-op", "--role", "operator");
        assertEquals(0, add.code(), add.err());
        assertTrue(value(add.out(), "token").startsWith("seed_"));
        Run badRole = external("add-annotator", "--name", "x", "--role", "root");
        assertEquals(2, badRole.code());
        assertTrue(badRole.err().contains("--role"), badRole.err());
        Run auditor = external("add-annotator", "--name", "cli-auditor", "--role", "auditor");
        assertEquals(0, auditor.code(), auditor.err());
        assertEquals("auditor", value(auditor.out(), "role"));
        // a bad candidates file is refused with its line before any service starts
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"prompt\": \"p\", \"responses\": [\"a\", \"b\"], \"checkpoint\": \"c\"}\n{\"prompt\": 1}\n");
        Path fresh = dir.resolve("never-started");
        Run badLoad = run(List.of("load", bad.toString(), "--data-dir", fresh.toString()));
        assertEquals(2, badLoad.code(), badLoad.err());
        assertTrue(badLoad.err().contains("bad.jsonl:2") && badLoad.err().contains("prompt"), badLoad.err());
        assertTrue(!Files.exists(fresh.resolve("postgres")), "no embedded service was started for a bad file");

        Path cands = Fixtures.candidates(dir, 3, 3, null);
        Run load = external("load", cands.toString(), "--annotators", "2");
        assertEquals(0, load.code(), load.err());
        assertEquals("3", value(load.out(), "items"));
        assertEquals(2, external("load", dir.resolve("missing.jsonl").toString()).code());

        Path pairs = dir.resolve("cli-pairs.jsonl");
        Files.writeString(pairs, "{\"prompt\": \"cli p\", \"chosen\": \"yes\", \"rejected\": \"no\"}\n"
                + "{\"prompt\": \"cli q\", \"chosen\": \"good\", \"rejected\": \"bad\"}\n");
        Run imp = external("import", "--format", "pairs", pairs.toString());
        assertEquals(0, imp.code(), imp.err());
        assertEquals("2", value(imp.out(), "accepted"));
        Run badFormat = external("import", "--format", "csv", pairs.toString());
        assertEquals(2, badFormat.code());

        Run unscoped = external("snapshot"); // a snapshot of everything is asked for by name, never the default
        assertTrue(unscoped.code() != 0 && unscoped.err().contains("--items") && unscoped.err().contains("--all"),
                unscoped.err());
        Run snap = external("snapshot", "--all");
        assertEquals(0, snap.code(), snap.err());
        assertEquals("ALL", value(snap.out(), "scope"));
        assertTrue(Integer.parseInt(value(snap.out(), "count")) >= 2);
        Path file = Path.of(value(snap.out(), "path"));
        assertTrue(Files.isRegularFile(file));
        Path out = dir.resolve("export-pairs.jsonl");
        Run exp = external("export", "--snapshot", value(snap.out(), "snapshot_id"), "--format", "pairs", "--out", out.toString());
        assertEquals(0, exp.code(), exp.err());
        assertTrue(Files.readString(out).contains("\"chosen\":\"yes\""));

        Run stats = external("stats");
        assertEquals(0, stats.code(), stats.err());
        assertTrue(stats.out().contains("rankings="), stats.out());
        Run json = external("stats", "--json");
        assertEquals(0, json.code(), json.err());
        assertTrue(json.out().contains("\"annotators\""));

        assertTrue(run(List.of("snapshot", "--no-such-flag")).code() != 0, "unknown flags exit non-zero");
        Run badRange = run(List.of("snapshot", "--items", "9-3")); // refused before any service starts
        assertEquals(2, badRange.code());
        assertTrue(badRange.err().contains("range 9-3"), badRange.err());
        Run both = run(List.of("snapshot", "--items", "3", "--all"));
        assertTrue(both.code() == 2 && both.err().contains("not both"), both.err());
        assertEquals(0, run(List.of("--help")).code());
    }

    @Test
    void embeddedDefaultKeepsDataBetweenCommands() {
        String data = dir.resolve("embedded").toString();
        Run first = run(List.of("add-annotator", "--name", "persisted", "--data-dir", data));
        assertEquals(0, first.code(), first.err());
        Run second = run(List.of("add-annotator", "--name", "persisted", "--data-dir", data));
        assertEquals(2, second.code());
        assertTrue(second.err().contains("already exists"), second.err());
    }

    /** Issue 19: serve noticed a taken port only after ~17 s of starting PostgreSQL and Kafka; now at once. */
    @Test
    void serveReportsATakenPortBeforeStartingAnything() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            Path data = dir.resolve("port-taken");
            long t0 = System.nanoTime();
            Run r = run(List.of("serve", "--port", Integer.toString(taken.getLocalPort()), "--data-dir", data.toString()));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()), r.err());
            assertTrue(ms < 3_000, "reported after " + ms + " ms");
            assertTrue(!java.nio.file.Files.exists(data.resolve("postgres")), "nothing was started");
        }
    }
}
