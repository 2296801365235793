package seed.workflows.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.kestra.core.models.executions.Execution;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import seed.annotation.core.Annotator;
import seed.workflows.engine.FlowInputs;
import seed.workflows.engine.RunViews;
import seed.workflows.engine.SeedEngine;

/**
 * The operators' HTTP API of {@code seed server}: launch, list, status (per task: state, attempt, duration,
 * outputs), logs, cancel and resume runs of the embedded Kestra engine, plus the part of Airflow's stable REST API
 * (v1) that triggers and watches runs ({@link AirflowApi}) and the model registry ({@link RegistryApi}). Every request carries a personal token (Bearer, or Basic
 * with the token as password) of the one identity model the annotation store keeps; operators may do everything
 * here, auditors may read, anyone else gets 403 with the reason.
 */
public final class OperatorApi implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();

    private final SeedEngine engine;
    private final Function<String, Optional<Annotator>> authenticate;
    private final Javalin app;
    private volatile PeopleAdder people;
    private volatile seed.workflows.registry.RegistryOperations registry;

    /** Adds a person to the identity model of the running server (its annotation store); returns their token. */
    @FunctionalInterface
    public interface PeopleAdder {
        String add(String name, String role);
    }

    /** Thrown by handlers; becomes a JSON error with that status. */
    static final class ApiError extends RuntimeException {
        final int status;

        ApiError(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    public OperatorApi(SeedEngine engine, Function<String, Optional<Annotator>> authenticate) {
        this.engine = engine;
        this.authenticate = authenticate;
        this.app = Javalin.create(cfg -> {
            cfg.showJavalinBanner = false;
            cfg.http.maxRequestSize = 1 << 20;
        });
        app.get("/health", ctx -> ctx.json(Map.of("status", "UP")));
        app.post("/api/runs", ctx -> launch(ctx, operator(ctx)));
        app.get("/api/runs", ctx -> {
            reader(ctx);
            ctx.json(engine.recent(limit(ctx)).stream().map(RunViews::summary).toList());
        });
        app.get("/api/runs/{id}", ctx -> {
            reader(ctx);
            ctx.json(RunViews.detail(engine, run(ctx)));
        });
        app.get("/api/runs/{id}/logs", ctx -> {
            reader(ctx);
            Execution e = run(ctx);
            String stage = ctx.queryParam("stage");
            if (stage != null) {
                // `seed status` prints stages as seed.pretrain: accept that name as well as pretrain or a task id
                String known = RunViews.resolveStage(engine, e, stage);
                if (known == null) {
                    throw new ApiError(400, "run " + e.getId() + " has no stage or task '" + stage + "'; it has "
                            + RunViews.stageNames(engine, e));
                }
                stage = known;
            }
            ctx.json(RunViews.logs(engine, e, stage));
        });
        app.get("/api/flows", ctx -> {
            reader(ctx);
            ctx.json(FlowInputs.all().stream().map(FlowInputs::json).toList());
        });
        app.post("/api/people", ctx -> {
            Annotator who = operator(ctx);
            JsonNode b = body(ctx);
            String name = b.path("name").asText("").strip();
            String role = b.path("role").asText("").strip();
            if (name.isEmpty() || !Annotator.ROLES.contains(role)) {
                throw new ApiError(400, "give {\"name\": ..., \"role\": one of " + Annotator.ROLES + "}");
            }
            if (people == null) {
                throw new ApiError(501, "this server cannot add people");
            }
            String token = people.add(name, role);
            org.slf4j.LoggerFactory.getLogger(OperatorApi.class).info("{} added {} ({})", who.name(), name, role);
            ctx.status(201).json(Map.of("name", name, "role", role, "token", token));
        });
        app.post("/api/runs/{id}/cancel", ctx -> {
            operator(ctx);
            Execution e = run(ctx);
            guard(() -> engine.kill(e.getId()));
            ctx.status(202).json(Map.of("id", e.getId(), "state", "KILLING"));
        });
        app.post("/api/runs/{id}/resume", ctx -> {
            operator(ctx);
            Execution e = run(ctx);
            Execution[] resumed = new Execution[1];
            guard(() -> resumed[0] = engine.restart(e.getId()));
            // a cancelled run continues as a replay with its own id: "id" is where to follow it
            ctx.status(202).json(Map.of("id", resumed[0].getId(), "resumed", e.getId(), "state", "RESTARTED"));
        });
        new AirflowApi(engine, this).register(app);
        new RegistryApi(this).register(app);
        app.exception(ApiError.class, (e, ctx) -> error(ctx, e.status, e.getMessage()));
        app.exception(IllegalArgumentException.class, (e, ctx) -> error(ctx, 400, e.getMessage()));
        app.exception(Exception.class, (e, ctx) -> {
            org.slf4j.LoggerFactory.getLogger(OperatorApi.class).error("operator API: {}", ctx.path(), e);
            error(ctx, 500, "internal error (see the server log)");
        });
        app.error(404, ctx -> {
            if (ctx.result() == null || !ctx.result().startsWith("{")) {
                error(ctx, 404, "no such endpoint: " + ctx.method() + " " + ctx.path());
            }
        });
    }

    /** Lets operators add people (POST /api/people) through the server that owns the annotation store. */
    public OperatorApi people(PeopleAdder adder) {
        this.people = adder;
        return this;
    }

    /** Serves the model registry (/api/models) of the server that owns it. */
    public OperatorApi registry(seed.workflows.registry.RegistryOperations ops) {
        this.registry = ops;
        return this;
    }

    seed.workflows.registry.RegistryOperations registry() {
        return registry;
    }

    /** Starts on host:port (0 = any free port); returns the port. */
    public int start(String host, int port) {
        app.start(host, port);
        return app.port();
    }

    /** The app, so other pages (the auditors') can be mounted on the same server. */
    public Javalin app() {
        return app;
    }

    @Override
    public void close() {
        app.stop();
    }

    private void launch(Context ctx, Annotator who) throws Exception {
        JsonNode body = body(ctx);
        String flow = body.path("flow").asText("seed.three-stage");
        Map<String, Object> inputs = body.has("inputs") ? JSON.convertValue(body.get("inputs"), Map.class)
                : Map.of();
        Execution e = engine.launch(flow, inputs, who.name());
        ctx.status(201).json(RunViews.summary(e));
    }

    Execution run(Context ctx) {
        String id = ctx.pathParam("id");
        return engine.execution(id).orElseThrow(() -> new ApiError(404, "unknown run '" + id + "'"));
    }

    static JsonNode body(Context ctx) {
        String text = ctx.body();
        if (text.isBlank()) {
            return JSON.createObjectNode();
        }
        try {
            JsonNode n = JSON.readTree(text);
            if (!n.isObject()) {
                throw new ApiError(400, "the body must be a JSON object");
            }
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            // the location only: Jackson's own message names its internals
            throw new ApiError(400, "the body is not valid JSON" + (e.getLocation() == null ? ""
                    : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")"));
        }
    }

    private static int limit(Context ctx) {
        String l = ctx.queryParam("limit");
        try {
            return l == null ? 50 : Math.max(1, Math.min(500, Integer.parseInt(l)));
        } catch (NumberFormatException e) {
            throw new ApiError(400, "limit must be an integer, got '" + l + "'");
        }
    }

    /** The caller, who must be an operator. */
    Annotator operator(Context ctx) {
        Annotator a = caller(ctx);
        if (!"operator".equals(a.role())) {
            throw new ApiError(403, "role '" + a.role() + "' may not manage runs (operators only)");
        }
        return a;
    }

    /** The caller, who must be an operator or an auditor (both may read runs). */
    Annotator reader(Context ctx) {
        Annotator a = caller(ctx);
        if (!List.of("operator", "auditor").contains(a.role())) {
            throw new ApiError(403, "role '" + a.role() + "' may not read runs (operators and auditors only)");
        }
        return a;
    }

    private Annotator caller(Context ctx) {
        String token = seed.annotation.web.AuthHeader.token(ctx.header("Authorization"))
                .orElseThrow(() -> new ApiError(401, "missing token: send 'Authorization: Bearer <token>'"));
        return authenticate.apply(token).orElseThrow(() -> new ApiError(401, "unknown token"));
    }

    @FunctionalInterface
    interface Action {
        void run() throws Exception;
    }

    /** Engine refusals (a finished run cannot be cancelled, ...) are the caller's 409, not a server error. */
    static void guard(Action a) throws Exception {
        try {
            a.run();
        } catch (IllegalStateException e) {
            throw new ApiError(409, e.getMessage());
        }
    }

    /**
     * An RFC 7807 problem, the shape of Airflow's Error schema (type, title, status, detail; type is required there),
     * so Airflow clients parse Seed's errors as they parse Airflow's. A 401 names the Basic scheme as HTTP requires.
     */
    static void error(Context ctx, int status, String message) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "https://seed.invalid/problems/" + problemType(status));
        m.put("title", message);
        m.put("status", status);
        m.put("detail", message);
        if (status == 401) {
            ctx.header("WWW-Authenticate", "Basic realm=\"seed\"");
        }
        ctx.status(status).contentType("application/problem+json").result(JSON.valueToTree(m).toString());
    }

    private static String problemType(int status) {
        return switch (status) {
            case 400 -> "bad-request";
            case 401 -> "unauthenticated";
            case 403 -> "permission-denied";
            case 404 -> "not-found";
            case 409 -> "already-exists-or-conflict";
            case 501 -> "not-implemented";
            default -> "unknown";
        };
    }
}
