package seed.workflows.store;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17: a stage folder has one live writer. A second writer is refused whether it is in this JVM or in another
 * process (a task Kestra resubmitted after a missed heartbeat while the first copy still runs), the refusal names the
 * holder, and the lock goes away with its holder, even when that process is killed.
 */
class WriterLockTest {

    @Test
    void aSecondLiveWriterIsRefusedInThisJvmAndFromAnotherProcess(@TempDir Path dir) throws Exception {
        ArtifactStore store = ArtifactStore.at(dir.resolve("store"));
        Path corpus = Files.writeString(dir.resolve("corpus.txt"), "text");
        ArtifactStore.Key key = store.key("pretrain", Map.of("steps", 10), Map.of("corpus", corpus));

        try (ArtifactStore.WriterLock first = store.lockForWriting(key, "execution A, task run 1")) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> store.lockForWriting(key, "execution A, task run 1 (resubmitted)"));
            assertTrue(e.getMessage().contains("execution A, task run 1, pid " + ProcessHandle.current().pid()),
                    e.getMessage());
        }
        store.lockForWriting(key, "after release").close(); // released: the next writer may go

        Process other = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), HoldWriterLock.class.getName(), dir.resolve("store").toString(),
                corpus.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(other.getInputStream()));
            String line;
            while ((line = out.readLine()) != null && !line.equals("held")) {
                // JVM start-up noise
            }
            assertTrue("held".equals(line), "the other process did not take the lock");
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> store.lockForWriting(key, "execution B, task run 2"));
            assertTrue(e.getMessage().contains("first-copy") && e.getMessage().contains("refusing a second writer"),
                    e.getMessage());
        } finally {
            other.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: the operating system drops its lock
        }
        try (ArtifactStore.WriterLock again = store.lockForWriting(key, "execution B, task run 3")) {
            assertTrue(Files.readString(store.workDir(key).resolve(ArtifactStore.WRITER_LOCK))
                    .startsWith("execution B, task run 3"));
        }
    }
}
