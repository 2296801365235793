package seed.workflows.registry;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import seed.stages.serve.ModelSource;
import seed.workflows.cli.OperatorClient;

/**
 * What a registry alias names, asked of the {@code seed server} that owns the registry ({@code GET /api/models}) with
 * an operator's or auditor's token: {@code seed serve --alias} while a server runs on the same data folder, which it
 * cannot open itself (the server's PostgreSQL and Kafka run once). The folder it returns is the server's path: serve
 * on the same machine, or where that path is mounted.
 */
public final class ServerModelSource implements ModelSource {

    private final OperatorClient server;
    private final String alias;

    public ServerModelSource(OperatorClient server, String alias) {
        this.server = server;
        this.alias = ModelRegistry.checkAlias(alias);
    }

    @Override
    public Optional<Ref> current() {
        JsonNode listing;
        try {
            listing = server.get("/api/models?limit=1&alias=" + URLEncoder.encode(alias, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted asking " + describe(), e);
        } catch (Exception e) {
            // the watcher logs and keeps serving what it has; the first load names the failure
            throw new IllegalStateException(describe() + ": " + e.getMessage(), e);
        }
        for (JsonNode a : listing.path("aliases")) {
            if (alias.equals(a.path("alias").asText())) {
                ModelRegistry.Entry e = RegistryJson.entry(a);
                return Optional.of(new Ref(e.modelId(), Path.of(e.path())));
            }
        }
        return Optional.empty();
    }

    @Override
    public String describe() {
        return "registry alias " + alias + " (seed server at " + server.url() + ")";
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing " + describe() + ": " + e.getMessage(), e);
        }
    }
}
