package seed.workflows.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import seed.annotation.core.Annotator;
import seed.workflows.registry.ModelRegistry;
import seed.workflows.registry.RegistryJson;
import seed.workflows.registry.RegistryOperations;

/**
 * The model registry on the operator API, so {@code seed models/promote/rollback} and {@code seed serve --alias} work
 * while {@code seed server} owns the data folder (they cannot start its PostgreSQL and Kafka a second time):
 * {@code GET /api/models} for operators and auditors, {@code POST /api/models/promote} and {@code /rollback} for
 * operators, each change a history row and a lineage record exactly as the commands make them.
 */
final class RegistryApi {

    private final OperatorApi api;

    RegistryApi(OperatorApi api) {
        this.api = api;
    }

    void register(Javalin app) {
        app.get("/api/models", ctx -> {
            api.reader(ctx);
            String alias = ctx.queryParam("alias");
            ctx.json(RegistryJson.json(ops().list(alias == null || alias.isBlank() ? null : alias, limit(ctx))));
        });
        app.post("/api/models/promote", ctx -> {
            Annotator who = changer(ctx, "promote");
            JsonNode b = OperatorApi.body(ctx);
            String model = text(b, "model");
            ModelRegistry.Entry e = conflict(() -> ops().promote(who, alias(b), model == null ? null
                    : Path.of(model), text(b, "hash"), text(b, "reason")));
            ctx.json(Map.of("entry", RegistryJson.json(e)));
        });
        app.post("/api/models/rollback", ctx -> {
            Annotator who = changer(ctx, "rollback");
            JsonNode b = OperatorApi.body(ctx);
            RegistryOperations.Rolledback r = conflict(() -> ops().rollback(who, alias(b), text(b, "reason")));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("entry", RegistryJson.json(r.entry()));
            out.put("rolled_back_from", RegistryJson.json(r.from()));
            ctx.json(out);
        });
    }

    /** The caller, who must be an operator; an auditor is told what they may not do (they may read). */
    private Annotator changer(Context ctx, String verb) {
        Annotator who = api.reader(ctx);
        if (!"operator".equals(who.role())) {
            throw new OperatorApi.ApiError(403, "role '" + who.role() + "' may not " + verb + " (operator only)");
        }
        return who;
    }

    /** A checkpoint that changed on disk since it was registered is the caller's 409, not a server error. */
    private static <T> T conflict(java.util.function.Supplier<T> change) {
        try {
            return change.get();
        } catch (IllegalStateException e) {
            throw new OperatorApi.ApiError(409, e.getMessage());
        }
    }

    private RegistryOperations ops() {
        RegistryOperations ops = api.registry();
        if (ops == null) {
            throw new OperatorApi.ApiError(501, "this server has no model registry");
        }
        return ops;
    }

    private static String alias(JsonNode b) {
        String a = text(b, "alias");
        return a == null ? ModelRegistry.PRODUCTION : a;
    }

    private static String text(JsonNode b, String field) {
        JsonNode v = b.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new OperatorApi.ApiError(400, "'" + field + "' must be a string");
        }
        return v.asText();
    }

    private static int limit(Context ctx) {
        String l = ctx.queryParam("limit");
        try {
            return l == null ? 20 : Math.max(1, Math.min(10_000, Integer.parseInt(l)));
        } catch (NumberFormatException e) {
            throw new OperatorApi.ApiError(400, "limit must be an integer, got '" + l + "'");
        }
    }
}
