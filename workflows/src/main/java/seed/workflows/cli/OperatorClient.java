package seed.workflows.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The operators' commands talk to a Seed operator API over HTTP: {@code --server URL}, or the live process that owns
 * the work folder ({@code work/server.json}), or, when none runs, one this command starts for the work folder.
 */
public final class OperatorClient implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String url;
    private final String token;
    private final AutoCloseable local;

    private OperatorClient(String url, String token, AutoCloseable local) {
        this.url = url.replaceAll("/+$", "");
        this.token = token;
        this.local = local;
    }

    static OperatorClient connect(String server, String token, Path work) throws Exception {
        return connect(server, token, work, true);
    }

    /** {@code runTasks = false} for commands that only read: a locally started engine then picks up no task. */
    static OperatorClient connect(String server, String token, Path work, boolean runTasks) throws Exception {
        String tok = token != null ? token : System.getenv("SEED_TOKEN");
        if (server != null) {
            if (tok == null) {
                throw new IllegalArgumentException("--token (or SEED_TOKEN) is needed with --server");
            }
            return new OperatorClient(server, tok, null);
        }
        Path abs = work.toAbsolutePath().normalize();
        Optional<Map<String, Object>> running = Hosts.runningServer(abs);
        if (tok == null && Files.exists(abs.resolve(Hosts.TOKEN_FILE))) {
            tok = Files.readString(abs.resolve(Hosts.TOKEN_FILE)).strip();
        }
        if (running.isPresent()) {
            if (tok == null) {
                throw new IllegalArgumentException("no operator token: pass --token or set SEED_TOKEN");
            }
            return new OperatorClient((String) running.get().get("url"), tok, null);
        }
        if (!Files.isDirectory(abs.resolve("kestra"))) {
            throw new IllegalArgumentException("no Seed runs under " + abs + " (no engine state there); pass --work DIR "
                    + "or --server URL");
        }
        if (!runTasks) {
            // reading runs needs only Kestra's state: no Kafka, PostgreSQL or annotation server for seed runs/status/logs
            Hosts.ReadOnly ro = Hosts.readOnly(abs);
            return new OperatorClient(ro.url(), ro.token(), ro);
        }
        Hosts.Hosted hosted = Hosts.start(abs, 0, "127.0.0.1", 0, runTasks);
        return new OperatorClient(hosted.url(), hosted.token(), hosted);
    }

    /**
     * The live server for {@code work} (its {@code server.json}) or {@code server}, never a locally started engine;
     * empty if neither: commands that have a direct path of their own (the registry's) take it then.
     */
    public static Optional<OperatorClient> live(String server, String token, Path work) throws Exception {
        if (server == null && Hosts.runningServer(work.toAbsolutePath().normalize()).isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(connect(server, token, work, true));
    }

    /** The API's base URL (for messages). */
    public String url() {
        return url;
    }

    /** True when this client started the engine itself (it then lives as long as this command). */
    boolean local() {
        return local != null;
    }

    public JsonNode get(String path) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(url + path)).GET());
    }

    public JsonNode post(String path, String body) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(url + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    private JsonNode send(HttpRequest.Builder b) throws Exception {
        HttpResponse<String> r = http.send(b.header("Authorization", "Bearer " + token).timeout(Duration.ofMinutes(1))
                .build(), HttpResponse.BodyHandlers.ofString());
        JsonNode body = r.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(r.body());
        if (r.statusCode() >= 400) {
            throw new IllegalStateException(r.statusCode() + ": " + body.path("title").asText(r.body()));
        }
        return body;
    }

    @Override
    public void close() throws Exception {
        if (local != null) {
            local.close();
        }
    }
}
