package seed.workflows.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import seed.stages.checkpoint.Checkpoints;
import seed.workflows.engine.SeedHost;
import seed.workflows.server.OperatorApi;

/**
 * How commands host Seed on this machine: the services and the engine under a work folder, with the operator API
 * beside them so other commands ({@code seed status}, {@code logs}, {@code cancel}, ...) can reach a run while this
 * process owns the engine. The API's address goes to {@code work/server.json}; a local operator token to
 * {@code work/operator.token} (owner-only).
 */
final class Hosts {

    static final String SERVER_FILE = "server.json";
    static final String TOKEN_FILE = "operator.token";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Hosts() {
    }

    /** A running host with its operator API. Closing is idempotent: a signal and a normal exit may both close it. */
    record Hosted(SeedHost host, OperatorApi api, String url, String token,
            java.util.concurrent.atomic.AtomicBoolean closed) implements AutoCloseable {

        Hosted(SeedHost host, OperatorApi api, String url, String token) {
            this(host, api, url, token, new java.util.concurrent.atomic.AtomicBoolean());
        }

        @Override
        public void close() throws IOException {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            Files.deleteIfExists(host.workDir().resolve(SERVER_FILE));
            api.close();
            host.close();
        }
    }

    /**
     * SIGTERM and SIGINT stop {@code hosted} in order, then exit with {@code 128 + signal}: the engine first (its
     * running task is killed and records its end in lineage), then lineage, then PostgreSQL and Kafka. Left to the
     * JVM's shutdown hooks this order is lost, because they run all at once and the embedded PostgreSQL registers
     * its own hook: it stopped under the worker and the task's lineage record was lost.
     */
    static void stopInOrderOnSignal(Hosted hosted) {
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> new Thread(() -> {
                    System.err.println("seed: SIG" + sig.getName() + ": stopping the engine, then lineage, then "
                            + "PostgreSQL and Kafka");
                    int code = 128 + sig.getNumber();
                    try {
                        hosted.close();
                        System.err.println("seed: stopped");
                    } catch (Exception | Error e) {
                        System.err.println("seed: stopping failed: " + e);
                        code = 1;
                    }
                    System.exit(code);
                }, "seed-stop-" + name).start());
            } catch (IllegalArgumentException e) {
                // this platform has no such signal: the JVM's default handling (shutdown hooks) stays
            }
        }
    }

    /** Kafka, PostgreSQL, the annotation server, the Kestra engine and the operator API under {@code work}. */
    static Hosted start(Path work, int annotationPort, String apiHost, int apiPort) throws Exception {
        return start(work, annotationPort, apiHost, apiPort, true);
    }

    /** {@code runTasks = false}: an engine that only reads runs (seed runs, status, logs). */
    static Hosted start(Path work, int annotationPort, String apiHost, int apiPort, boolean runTasks) throws Exception {
        Path abs = work.toAbsolutePath().normalize();
        Optional<Map<String, Object>> other = runningServer(abs);
        if (other.isPresent()) {
            throw new IllegalStateException("another Seed process (pid " + other.get().get("pid") + ", "
                    + other.get().get("url") + ") owns " + abs + "; use it (seed status/logs/cancel/resume talk to it) "
                    + "or stop it first");
        }
        System.err.println("seed: starting Kafka, PostgreSQL, the annotation server and the Kestra engine under " + abs
                + " ...");
        SeedHost host = SeedHost.start(new SeedHost.Options(abs, annotationPort, true, 2, runTasks), System.getenv());
        try {
            OperatorApi api = new OperatorApi(host.engine(), host.annotation().catalog()::authenticate)
                    .people((name, role) -> host.annotation().addAnnotator(name, role).token())
                    .registry(seed.workflows.registry.RegistryOperations.hosted(host.annotation().infra()));
            // the auditors' page on the same server (issue 8): lineage graphs, details, verification; read-only
            seed.workflows.lineage.AuditorPage.register(api.app(), host.annotation().catalog()::authenticate,
                    seed.workflows.lineage.LineageService.of(host.annotation().infra()));
            int port = api.start(apiHost, apiPort);
            String url = "http://" + ("0.0.0.0".equals(apiHost) ? "127.0.0.1" : apiHost) + ":" + port;
            String token = operatorToken(host, abs);
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("url", url);
            info.put("pid", ProcessHandle.current().pid());
            info.put("annotation_url", host.annotationUrl());
            Checkpoints.writeAtomically(abs.resolve(SERVER_FILE), JSON.writeValueAsString(info));
            return new Hosted(host, api, url, token);
        } catch (Exception | Error e) {
            host.close();
            throw e;
        }
    }

    /**
     * The engine's state of a work folder no process owns, read-only, behind an operator API only this process knows
     * the token of: {@code seed runs}, {@code status} and {@code logs} start neither Kafka nor PostgreSQL for it.
     */
    record ReadOnly(seed.workflows.engine.SeedEngine engine, OperatorApi api, String url, String token)
            implements AutoCloseable {
        @Override
        public void close() {
            api.close();
            engine.close();
        }
    }

    static ReadOnly readOnly(Path work) throws Exception {
        System.err.println("seed: no process owns " + work + "; reading its engine state (Kafka and PostgreSQL are not "
                + "started) ...");
        seed.workflows.engine.SeedEngine engine = seed.workflows.engine.SeedEngine.start(
                new seed.workflows.engine.SeedEngine.Config(work, Map.of(), true, 1, false));
        try {
            String token = java.util.UUID.randomUUID().toString();
            seed.annotation.core.Annotator reader = new seed.annotation.core.Annotator(0, "local-reader", "auditor");
            OperatorApi api = new OperatorApi(engine, t -> token.equals(t) ? Optional.of(reader) : Optional.empty());
            int port = api.start("127.0.0.1", 0);
            return new ReadOnly(engine, api, "http://127.0.0.1:" + port, token);
        } catch (Exception | Error e) {
            engine.close();
            throw e;
        }
    }

    /** The operator API of a live Seed process owning {@code work}, if any. */
    static Optional<Map<String, Object>> runningServer(Path work) throws IOException {
        Path f = work.toAbsolutePath().normalize().resolve(SERVER_FILE);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> info = JSON.readValue(f.toFile(), Map.class);
        long pid = ((Number) info.get("pid")).longValue();
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            return Optional.of(info);
        }
        Files.deleteIfExists(f); // left by a process that was killed
        return Optional.empty();
    }

    /** The local operator's token: reused when it still authenticates, otherwise a new operator identity. */
    private static String operatorToken(SeedHost host, Path work) throws IOException {
        Path f = work.resolve(TOKEN_FILE);
        if (Files.exists(f)) {
            String t = Files.readString(f).strip();
            if (host.annotation().catalog().authenticate(t).filter(a -> "operator".equals(a.role())).isPresent()) {
                return t;
            }
        }
        String name = "operator-" + user().replace("cli:", "") + "-" + Long.toString(System.currentTimeMillis(), 36);
        String token = host.annotation().addAnnotator(name, "operator").token();
        Files.deleteIfExists(f);
        Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(f, token + "\n");
        return token;
    }

    /** Who launches runs from this command line (the lineage records it). */
    static String user() {
        String u = System.getenv("USER");
        return "cli:" + (u == null || u.isBlank() ? System.getProperty("user.name", "unknown") : u);
    }
}
