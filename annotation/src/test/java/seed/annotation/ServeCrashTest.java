package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.cli.AnnotateCommand;
import seed.annotation.core.EventCodec;
import seed.annotation.infra.InfraConfig;

/**
 * {@code kill -9} of {@code seed annotate serve} (embedded Kafka and PostgreSQL in it) while annotators submit over
 * HTTP, then one restart: it must succeed the first time (the orphaned PostgreSQL is reclaimed), every acknowledged
 * ranking ends up stored exactly once, and no assignment stays stranded as submitted without a stored event.
 */
class ServeCrashTest {

    @TempDir
    Path dir;
    final List<Process> forked = new ArrayList<>();

    @AfterEach
    void killForked() throws InterruptedException {
        for (Process p : forked) {
            if (p.isAlive()) {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /** Starts serve in its own JVM and returns its port once it prints the "serving" line. */
    private int serve(Path data, List<String> output) throws Exception {
        return serve(data, output, false);
    }

    /**
     * @param ownSession start it as its own session and process group (setsid), so a test can send SIGINT to the
     *                   whole group as Ctrl-C in a terminal does: serve and the embedded PostgreSQL it started
     */
    private int serve(Path data, List<String> output, boolean ownSession, String... jvmFlags) throws Exception {
        // a terminal's foreground job never starts with SIGINT ignored, but a test run from a background job (`cmd &`
        // in a script) would pass that on and the JVM would then ignore Ctrl-C: give serve SIGINT's default back
        List<String> cmd = new ArrayList<>(ownSession ? List.of("env", "--default-signal=INT", "setsid") : List.of());
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(jvmFlags));
        cmd.addAll(List.of("-Dseed.kafka.delivery-timeout-ms=3000", "-Dseed.claims.release-after-ms=5000",
                "-cp", System.getProperty("java.class.path"), AnnotateCommand.class.getName(), "serve", "--port", "0",
                "--data-dir", data.toString(), "--instance-id", "crash-test"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        forked.add(p);
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        long deadline = System.currentTimeMillis() + 120_000;
        String line;
        while (System.currentTimeMillis() < deadline && (line = r.readLine()) != null) {
            output.add(line);
            if (line.startsWith("serving http://")) {
                Thread drain = new Thread(() -> {
                    try {
                        r.lines().forEach(output::add);
                    } catch (RuntimeException e) {
                        // process gone
                    }
                });
                drain.setDaemon(true);
                drain.start();
                return Integer.parseInt(line.replaceAll("serving http://[^:]+:(\\d+)/.*", "$1"));
            }
        }
        throw new AssertionError("serve did not start: " + String.join("\n", output));
    }

    /** Embedded services under {@code data} with {@code items} two-response items and 8 annotators; their tokens. */
    private List<String> prepare(Path data, int items, String prefix) throws Exception {
        List<String> tokens = new ArrayList<>();
        try (Annotation a = Annotation.start(InfraConfig.embedded(data))) {
            a.loadCandidates(Fixtures.candidates(dir, items, 2, null), 1);
            for (int i = 0; i < 8; i++) {
                tokens.add(a.addAnnotator(prefix + i, "annotator").token());
            }
        }
        return tokens;
    }

    @Test
    void killDashNineDuringLoadThenOneRestart() throws Exception {
        Path data = dir.resolve("data");
        List<String> tokens = prepare(data, 400, "crash-");
        List<String> out1 = java.util.Collections.synchronizedList(new ArrayList<>());
        int port = serve(data, out1);
        Process first = forked.get(0);
        Set<UUID> acked = ConcurrentHashMap.newKeySet();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> clients = load(port, tokens, acked, stop);
        long deadline = System.currentTimeMillis() + 60_000;
        while (acked.size() < 120 && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        first.destroyForcibly(); // SIGKILL, in the middle of the load
        first.waitFor(30, TimeUnit.SECONDS);
        stop.set(true);
        for (Thread t : clients) {
            t.join(20_000);
        }
        assertTrue(acked.size() >= 120, "load was running when killed: " + acked.size() + " acknowledged");

        // one restart, which must succeed the first time despite the orphaned PostgreSQL
        List<String> out2 = java.util.Collections.synchronizedList(new ArrayList<>());
        serve(data, out2, true);
        Process second = forked.get(1);
        // the new ingester takes the killed one's partitions at once (same static instance id), ingests what Kafka
        // holds, then releases claims older than 5 s whose event is nowhere
        long until = System.currentTimeMillis() + 90_000;
        while (System.currentTimeMillis() < until
                && out2.stream().noneMatch(l -> l.contains("first claim reconciliation done"))) {
            Thread.sleep(200);
        }
        int beforeStop = out2.size();
        // Ctrl-C in a terminal: SIGINT to the process group, so PostgreSQL gets it too and stops at once while serve's
        // shutdown hook is still closing the ingester and the pools
        Process intr = new ProcessBuilder("kill", "-INT", "--", "-" + second.pid()).redirectErrorStream(true).start();
        assertEquals(0, intr.waitFor(), new String(intr.getInputStream().readAllBytes()));
        if (!second.waitFor(60, TimeUnit.SECONDS)) {
            dumpThreads(second);
        }
        assertTrue(!second.isAlive(), () -> "serve stops on Ctrl-C; its output after the signal:\n"
                + tail(out2, beforeStop));
        Thread.sleep(300); // the drain thread reads the last lines
        // issue 19: a clean stop logged 57P01 stack traces (the embedded PostgreSQL stops in its own shutdown hook)
        List<String> stopLines;
        synchronized (out2) {
            stopLines = new ArrayList<>(out2.subList(beforeStop, out2.size()));
        }
        System.err.println("serve's output after Ctrl-C:\n  " + String.join("\n  ", stopLines));
        for (String l : stopLines) {
            assertTrue(!l.contains("57P01") && !l.startsWith("\tat ") && !l.contains(" ERROR "),
                    "clean shutdown output:\n" + String.join("\n", stopLines));
        }

        try (Annotation a = Annotation.start(InfraConfig.embedded(data))) {
            a.ingestUntilCaughtUp(Duration.ofSeconds(60));
            var ds = a.infra().dataSource();
            long strandedAfterRestart = Fixtures.count(ds, "SELECT count(*) FROM assignments a WHERE a.submitted_event_id IS NOT NULL"
                    + " AND NOT EXISTS (SELECT 1 FROM ranking_events r WHERE r.item_id = a.item_id AND r.annotator_id = a.annotator_id)");
            System.err.println("stranded after the restarted serve: " + strandedAfterRestart);
            for (UUID id : acked) {
                assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE event_id = ?", id),
                        "acknowledged ranking " + id + " stored once");
            }
            assertEquals(0, Fixtures.count(ds, "SELECT count(*) FROM assignments a WHERE a.submitted_event_id IS NOT NULL"
                    + " AND NOT EXISTS (SELECT 1 FROM ranking_events r WHERE r.item_id = a.item_id AND r.annotator_id = a.annotator_id)"),
                    "no stranded assignment; restart output:\n" + String.join("\n", out2));
            assertEquals(Fixtures.count(ds, "SELECT count(*) FROM ranking_events"),
                    Fixtures.count(ds, "SELECT count(DISTINCT (item_id, annotator_id)) FROM ranking_events"));
        }
    }
    /**
     * One thread per annotator token, each fetching its next item and submitting a ranking in a loop until {@code stop}
     * or the server is gone; every 202's event id goes into {@code acked}.
     */
    private static List<Thread> load(int port, List<String> tokens, Set<UUID> acked, AtomicBoolean stop) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        List<Thread> clients = new ArrayList<>();
        for (String token : tokens) {
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        HttpResponse<String> next = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/items/next"))
                                .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(10)).build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (next.statusCode() != 200) {
                            Thread.sleep(next.statusCode() == 429 ? 200 : 50);
                            continue;
                        }
                        long item = EventCodec.JSON.readTree(next.body()).get("item_id").longValue();
                        HttpResponse<String> sub = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/submissions"))
                                .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(10))
                                .POST(HttpRequest.BodyPublishers.ofString("{\"item_id\": " + item + ", \"ranking\": [1, 0]}")).build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (sub.statusCode() == 202) {
                            acked.add(UUID.fromString(EventCodec.JSON.readTree(sub.body()).get("event_id").asText()));
                        } else if (sub.statusCode() == 429) {
                            Thread.sleep(200);
                        }
                    } catch (Exception e) {
                        return; // the server died
                    }
                }
            });
            t.start();
            clients.add(t);
        }
        return clients;
    }

    /**
     * Issue 19: "a clean shutdown logs 57P01 stack traces". Ctrl-C (SIGINT to serve's process group, so the embedded
     * PostgreSQL gets it too and terminates every backend with 57P01 at once) while annotators submit, so the API, the
     * claim flusher and the ingester are all inside database calls when the connections break. Serve runs with the
     * logging configuration Seed ships (workflows' logback.xml, what {@code bin/seed} uses); its whole output after
     * the signal must be free of 57P01, stack traces and ERROR lines. Three rounds, because which thread is inside a
     * database call at that instant varies.
     */
    @Test
    void ctrlCUnderLoadLogsNoStackTraces() throws Exception {
        Path data = dir.resolve("data");
        List<String> tokens = prepare(data, 600, "stop-");
        Path shipped = Path.of("..", "workflows", "src", "main", "resources", "logback.xml").toAbsolutePath().normalize();
        assertTrue(java.nio.file.Files.isRegularFile(shipped), "the shipped logging configuration " + shipped);
        for (int round = 1; round <= 3; round++) {
            List<String> out = java.util.Collections.synchronizedList(new ArrayList<>());
            int port = serve(data, out, true, "-Dlogback.configurationFile=" + shipped);
            Process p = forked.get(forked.size() - 1);
            Set<UUID> acked = ConcurrentHashMap.newKeySet();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> clients = load(port, tokens, acked, stop);
            int before = acked.size();
            long deadline = System.currentTimeMillis() + 60_000;
            while (acked.size() < before + 60 && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(acked.size() >= before + 60, "load was running at the stop: " + acked.size() + " acknowledged");
            int beforeStop = out.size();
            Process intr = new ProcessBuilder("kill", "-INT", "--", "-" + p.pid()).redirectErrorStream(true).start();
            assertEquals(0, intr.waitFor(), new String(intr.getInputStream().readAllBytes()));
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                dumpThreads(p);
            }
            assertTrue(!p.isAlive(), () -> "serve stops on Ctrl-C; its output after the signal:\n"
                    + tail(out, beforeStop));
            stop.set(true);
            for (Thread t : clients) {
                t.join(20_000);
            }
            Thread.sleep(300); // the drain thread reads the last lines
            List<String> stopLines;
            synchronized (out) {
                stopLines = new ArrayList<>(out.subList(beforeStop, out.size()));
            }
            System.err.println("round " + round + ": serve's output after Ctrl-C under load (" + acked.size()
                    + " acknowledged):\n  " + String.join("\n  ", stopLines));
            for (String l : stopLines) {
                assertTrue(!l.contains("57P01") && !l.contains("terminating connection due to administrator command")
                                && !l.startsWith("\tat ") && !l.contains(" ERROR "),
                        "round " + round + ", clean shutdown output:\n" + String.join("\n", stopLines));
            }
        }
    }

    /** The lines a process wrote from {@code from} on (a copy: the drain thread may still add), for a failure's message. */
    private static String tail(List<String> output, int from) {
        synchronized (output) {
            return String.join("\n", new ArrayList<>(output.subList(Math.min(from, output.size()), output.size())));
        }
    }

    /** Where a process that did not stop is stuck: its threads' stacks (jcmd), written to a file beside the reports. */
    private static void dumpThreads(Process p) {
        try {
            Process j = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(p.pid()), "Thread.print").redirectErrorStream(true).start();
            java.nio.file.Files.write(Path.of("target", "serve-threads-" + p.pid() + ".txt"), j.getInputStream().readAllBytes());
        } catch (Exception e) {
            // diagnostics only
        }
    }
}
