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

    /** A running host with its operator API. */
    record Hosted(SeedHost host, OperatorApi api, String url, String token) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            Files.deleteIfExists(host.workDir().resolve(SERVER_FILE));
            api.close();
            host.close();
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
                    .people((name, role) -> host.annotation().addAnnotator(name, role).token());
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
