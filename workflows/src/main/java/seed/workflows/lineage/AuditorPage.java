package seed.workflows.lineage;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import seed.annotation.core.Annotator;

/**
 * The auditor page and its JSON API, mounted on any Javalin app (the lead's {@code seed server} mounts it next to the
 * operator API and the annotator page). The page is static (no CDN, no framework): it takes the personal token, lists
 * the runs, draws a run's or checkpoint's lineage as server-rendered SVG and shows each node's settings, hashes,
 * metrics and annotations, and verifies. Only auditors and operators may read lineage (operators launch runs and
 * need to see what ran; neither can change it: there is no write endpoint and the database refuses changes);
 * annotators and importers get 403 with the reason, a missing or unknown token 401.
 *
 * <pre>
 * GET /audit                                   the page (+ /audit/app.js, /audit/app.css)
 * GET /api/lineage/runs                        [{run, flows, task_runs, started_at, ended_at, status, launched_by}]
 * GET /api/lineage/graph?target=PATH|RUN       {graph: nodes + edges (as `seed lineage show --json`), svg}
 * GET /api/lineage/verify?target=PATH|RUN      {verified, problems: [{kind, subject, detail}], records_checked, ...}
 * </pre>
 */
public final class AuditorPage {

    /** Roles that may read lineage. */
    public static final Set<String> READERS = Set.of("auditor", "operator");

    private final Function<String, Optional<Annotator>> authenticate;
    private final LineageService service;

    private AuditorPage(Function<String, Optional<Annotator>> authenticate, LineageService service) {
        this.authenticate = authenticate;
        this.service = service;
    }

    /**
     * Registers the page and API on {@code app}.
     *
     * @param authenticateToken the token model shared by every HTTP surface (e.g. {@code catalog::authenticate})
     */
    public static void register(Javalin app, Function<String, Optional<Annotator>> authenticateToken, LineageService service) {
        AuditorPage page = new AuditorPage(authenticateToken, service);
        app.get("/audit", ctx -> resource(ctx, "index.html", "text/html; charset=utf-8"));
        app.get("/audit/app.js", ctx -> resource(ctx, "app.js", "text/javascript; charset=utf-8"));
        app.get("/audit/app.css", ctx -> resource(ctx, "app.css", "text/css; charset=utf-8"));
        app.get("/api/lineage/runs", ctx -> page.guarded(ctx, () -> Map.of("runs", service.runs())));
        app.get("/api/lineage/graph", ctx -> page.guarded(ctx, () -> {
            LineageGraph g = service.graph(target(ctx));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("graph", GraphFormats.json(g));
            out.put("svg", GraphSvg.render(g));
            return out;
        }));
        app.get("/api/lineage/verify", ctx -> page.guarded(ctx, () -> report(service.verify(target(ctx)))));
    }

    private static Map<String, Object> report(VerifyReport r) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("target", r.target());
        out.put("verified", r.ok());
        out.put("problems", r.problems().stream().map(p -> Map.of("kind", p.kind().name(), "subject", p.subject(),
                "detail", p.detail(), "message", p.message())).toList());
        out.put("records_checked", r.recordsChecked());
        out.put("witness_head", r.witnessHead());
        out.put("task_runs", r.taskRuns());
        out.put("artifacts_checked", r.artifactsChecked());
        return out;
    }

    private static String target(Context ctx) {
        String t = ctx.queryParam("target");
        if (t == null || t.isBlank()) {
            throw new BadRequest("query parameter \"target\" (a checkpoint path or a run id) is required");
        }
        return t.trim();
    }

    /** A refusal of the request itself (400). */
    private static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message);
        }
    }

    private interface Body {
        Object get() throws Exception;
    }

    /** Authenticates, checks the role, runs the body and writes JSON; every refusal is JSON {"error": reason}. */
    private void guarded(Context ctx, Body body) throws JsonProcessingException {
        ctx.header("Cache-Control", "no-store");
        Optional<String> token = seed.annotation.web.AuthHeader.token(ctx.header("Authorization"));
        if (token.isEmpty()) {
            error(ctx, 401, "missing Authorization: Bearer <token> header (or Basic with the token as password)");
            return;
        }
        Optional<Annotator> who = authenticate.apply(token.get());
        if (who.isEmpty()) {
            error(ctx, 401, "unknown token");
            return;
        }
        if (!READERS.contains(who.get().role())) {
            error(ctx, 403, "lineage is for auditors and operators; " + who.get().role() + "s cannot read it ("
                    + who.get().name() + " is an " + who.get().role() + ")");
            return;
        }
        try {
            ctx.contentType("application/json").result(CanonicalJson.JSON.writeValueAsString(body.get()));
        } catch (BadRequest | LineageGraph.NotFound e) {
            error(ctx, e instanceof BadRequest ? 400 : 404, e.getMessage());
        } catch (Exception e) {
            error(ctx, 500, "lineage: " + e.getMessage());
        }
    }

    private static void error(Context ctx, int status, String reason) throws JsonProcessingException {
        ctx.status(status).contentType("application/json").result(CanonicalJson.JSON.writeValueAsString(Map.of("error", reason)));
    }

    private static void resource(Context ctx, String name, String type) throws IOException {
        try (InputStream in = AuditorPage.class.getResourceAsStream("/seed/workflows/audit/" + name)) {
            if (in == null) {
                ctx.status(404).result("missing resource " + name);
                return;
            }
            ctx.contentType(type).header("Cache-Control", "no-store")
                    .header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
                    .result(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }
}
