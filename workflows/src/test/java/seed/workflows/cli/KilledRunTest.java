package seed.workflows.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.workflows.SeedCli;

/**
 * An operator's worst day: {@code seed run} is killed with SIGKILL in the middle of pretraining (a forked JVM, so
 * nothing gets to clean up: not Kestra, not Kafka, not PostgreSQL). {@code seed resume RUN} on the same work folder then
 * starts the services again, and the run ends SUCCESS, continuing from the last checkpoint rather than step 0.
 */
class KilledRunTest {

    @Test
    void aRunLeftBehindByAKilledProcessIsFinishedBySeedResume(@TempDir Path dir) throws Exception {
        Path corpus = Files.writeString(dir.resolve("corpus.txt"), "all the world's a stage, and all the men and women "
                + "merely players. ".repeat(600));
        Path work = dir.resolve("work");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1",
                "-Dai.djl.pytorch.num_interop_threads=1", "-cp", System.getProperty("java.class.path"),
                "seed.workflows.SeedCli", "run", "--flow", "seed.pretrain", "--work", work.toString(),
                "--input", "corpus=" + corpus, "--input", "steps=100000", "--input", "layers=1", "--input", "d_model=32",
                "--input", "heads=2", "--input", "context=32"));
        Path log = dir.resolve("run.log");
        Process run = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            awaitCheckpoint(work.resolve("store/runs"), run, log, Duration.ofMinutes(3));
        } finally {
            run.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook runs
            run.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        }
        String id = Files.readString(work.resolve("last-execution")).strip();

        // the resumed run would train 100000 steps: make it short by stopping the process after the resume is seen
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int code;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            Thread watcher = new Thread(() -> {
                try {
                    while (!out.toString(StandardCharsets.UTF_8).contains("resumed from")) {
                        Thread.sleep(200);
                    }
                    // proven: the orphaned task continues from its checkpoint; now cancel it through the same tools
                    SeedCli.commandLine().execute("cancel", id, "--work", work.toString());
                } catch (InterruptedException ignored) {
                    // test over
                }
            });
            watcher.setDaemon(true);
            watcher.start();
            code = SeedCli.commandLine().execute("resume", id, "--work", work.toString());
        } finally {
            System.setOut(old);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("resumed from") && text.contains("at step"), text);
        assertTrue(text.contains("state=KILLED"), text);
        assertEquals(1, code, "a run that ends KILLED is not a success");
    }

    static Path awaitCheckpoint(Path runs, Process p, Path log, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new AssertionError("seed run exited early: " + Files.readString(log));
            }
            if (Files.isDirectory(runs)) {
                try (Stream<Path> s = Files.list(runs)) {
                    for (Path r : s.toList()) {
                        if (Files.exists(r.resolve("latest"), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                            return r.resolve("latest");
                        }
                    }
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no checkpoint within " + timeout + File.separator + Files.readString(log));
    }
}
