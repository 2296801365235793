package seed.annotation.infra;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embedded PostgreSQL outlives a JVM killed with {@code kill -9} (it is a child process with its own session),
 * and then holds the data folder, so the next start would fail. Before starting, this finds the server named in
 * {@code postmaster.pid}, checks that it really is a postgres serving this very folder and that no live process
 * holds zonky's lock on the folder (its owner is dead), and stops it (fast
 * shutdown, then SIGKILL after 30 s; PostgreSQL's crash recovery makes either safe). A stale pid file of a dead
 * process is left to PostgreSQL, which handles it itself.
 */
final class OrphanedPostgres {

    private static final Logger log = LoggerFactory.getLogger(OrphanedPostgres.class);

    private OrphanedPostgres() {
    }

    static void reclaim(Path pgData) {
        Path pidFile = pgData.resolve("postmaster.pid");
        if (!Files.isRegularFile(pidFile)) {
            return;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(pidFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + pidFile + ": " + e.getMessage(), e);
        }
        if (lines.size() < 2) {
            return;
        }
        long pid;
        try {
            pid = Long.parseLong(lines.get(0).strip());
        } catch (NumberFormatException e) {
            return;
        }
        Optional<ProcessHandle> ph = ProcessHandle.of(pid);
        if (ph.isEmpty() || !ph.get().isAlive()) {
            return;
        }
        String cmd = commandLine(pid);
        boolean same;
        try {
            same = Path.of(lines.get(1).strip()).toRealPath().equals(pgData.toRealPath());
        } catch (IOException e) {
            same = false;
        }
        if (!cmd.contains("postgres") || !same) {
            throw new IllegalStateException(pgData + " is in use by process " + pid + " (" + cmd.strip()
                    + "); another Seed process owns this data dir: stop it, or point this command at external services");
        }
        if (!ownerGone(pgData)) {
            throw new IllegalStateException("the embedded PostgreSQL under " + pgData + " (pid " + pid
                    + ") belongs to a running Seed process; one process at a time may own an embedded data dir: connect"
                    + " to that server instead (--jdbc-url jdbc:postgresql://localhost:PORT/postgres --jdbc-user "
                    + EmbeddedPostgresAuth.SUPERUSER + " --jdbc-password-file "
                    + pgData.resolveSibling(EmbeddedPostgresAuth.PASSWORDS_DIR).resolve(EmbeddedPostgresAuth.SUPERUSER)
                    + ", PORT being the 4th line of " + pgData.resolve("postmaster.pid") + ")");
        }
        log.warn("found the embedded PostgreSQL of a process that died without stopping it (pid {}); stopping it", pid);
        signal(pid, "INT");
        try {
            ph.get().onExit().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("orphaned PostgreSQL {} did not stop within 30 s; killing it", pid);
            ph.get().destroyForcibly();
            try {
                ph.get().onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e2) {
                throw new IllegalStateException("cannot stop the orphaned PostgreSQL (pid " + pid + ") under " + pgData, e2);
            }
        }
    }

    /**
     * Whether the process that started the server is gone: zonky holds a file lock on {@code epg-lock} in the data
     * folder for as long as its JVM owns the server, and the kernel drops it when that JVM dies.
     */
    private static boolean ownerGone(Path pgData) {
        Path lock = pgData.resolve("epg-lock");
        if (!Files.exists(lock)) {
            return true;
        }
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(lock,
                java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.channels.FileLock l = ch.tryLock();
            if (l == null) {
                return false;
            }
            l.release();
            return true;
        } catch (java.nio.channels.OverlappingFileLockException e) {
            return false;
        } catch (IOException e) {
            throw new IllegalStateException("cannot check the lock " + lock + ": " + e.getMessage(), e);
        }
    }

    private static String commandLine(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException e) {
            return ProcessHandle.of(pid).flatMap(h -> h.info().commandLine()).orElse("");
        }
    }

    private static void signal(long pid, String sig) {
        try {
            Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).redirectErrorStream(true).start();
            p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
