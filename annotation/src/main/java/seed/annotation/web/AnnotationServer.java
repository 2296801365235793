package seed.annotation.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import seed.annotation.core.Annotator;
import seed.annotation.core.Catalog;
import seed.annotation.core.EventCodec;
import seed.annotation.core.Item;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.Submission;
import seed.annotation.core.SubmissionService;
import seed.annotation.core.SubmitOutcome;
import seed.annotation.stats.Agreement;

/**
 * The annotators' web page and the JSON API behind it (also for tools). Every API call carries the personal token
 * as {@code Authorization: Bearer TOKEN}; annotators see and submit only their own assignments; operators also see
 * agreement stats. Bodies are bounded; every refusal is a 4xx with {@code {"error": reason}} and stores nothing.
 *
 * <pre>
 * POST /api/login              {"token"}               -> {"annotator_id","name","role"}
 * GET  /api/items/next                                 -> {"item_id","prompt","responses"} | 204 when none left
 * GET  /api/items/{id}                                 -> same, only for an item assigned to the caller
 * POST /api/submissions        {"item_id","ranking","ties"?,"skip"?,"unsafe"?,"annotator_id"?}
 *                                                      -> 202 {"event_id","partition","offset"}
 * GET  /api/stats              (operators)             -> agreement report
 * </pre>
 */
public final class AnnotationServer implements AutoCloseable {

    /** Largest accepted request body. */
    public static final int MAX_BODY_BYTES = 64 * 1024;

    private final Catalog catalog;
    private final SubmissionService submissions;
    private final Javalin app;

    public AnnotationServer(Catalog catalog, SubmissionService submissions) {
        this.catalog = catalog;
        this.submissions = submissions;
        this.app = Javalin.create(cfg -> {
            cfg.showJavalinBanner = false;
            cfg.http.maxRequestSize = MAX_BODY_BYTES;
            cfg.useVirtualThreads = false;
        });
        app.before("/api/*", this::limitBody);
        app.get("/", ctx -> resource(ctx, "index.html", "text/html; charset=utf-8"));
        app.get("/app.js", ctx -> resource(ctx, "app.js", "text/javascript; charset=utf-8"));
        app.get("/app.css", ctx -> resource(ctx, "app.css", "text/css; charset=utf-8"));
        app.post("/api/login", this::login);
        app.get("/api/items/next", this::next);
        app.get("/api/items/{id}", this::item);
        app.post("/api/submissions", this::submit);
        app.get("/api/stats", this::stats);
        app.exception(ApiError.class, (e, ctx) -> error(ctx, e.status, e.getMessage()));
        app.exception(Exception.class, (e, ctx) -> error(ctx, 500, "internal error: " + e));
        app.error(404, ctx -> {
            String body = ctx.result();
            if (body == null || !body.startsWith("{")) {
                error(ctx, 404, "no such endpoint: " + ctx.method() + " " + ctx.path());
            }
        });
        app.error(413, ctx -> error(ctx, 413, "request body larger than " + MAX_BODY_BYTES + " bytes"));
    }

    /** Starts on the given port (0 = a free one) and returns the port. */
    public int start(String host, int port) {
        app.start(host, port);
        return app.port();
    }

    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
    }

    /** An API refusal: HTTP status and the reason shown to the caller. */
    static final class ApiError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;

        ApiError(int status, String reason) {
            super(reason);
            this.status = status;
        }
    }

    private static void error(Context ctx, int status, String reason) {
        ObjectNode n = EventCodec.JSON.createObjectNode();
        n.put("error", reason);
        ctx.status(status).contentType("application/json").result(n.toString());
    }

    private void limitBody(Context ctx) {
        long len = ctx.req().getContentLengthLong();
        if (len > MAX_BODY_BYTES) {
            throw new ApiError(413, "request body of " + len + " bytes is larger than the limit of " + MAX_BODY_BYTES);
        }
    }

    private static void resource(Context ctx, String name, String type) throws IOException {
        try (InputStream in = AnnotationServer.class.getResourceAsStream("/seed/annotation/web/" + name)) {
            if (in == null) {
                throw new ApiError(404, "missing resource " + name);
            }
            ctx.contentType(type).header("Cache-Control", "no-store")
                    .header("Content-Security-Policy", "default-src 'self'")
                    .result(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    private Annotator auth(Context ctx) {
        String h = ctx.header("Authorization");
        if (h == null || !h.startsWith("Bearer ")) {
            throw new ApiError(401, "missing Authorization: Bearer <token> header");
        }
        return catalog.authenticate(h.substring(7).trim())
                .orElseThrow(() -> new ApiError(401, "unknown token"));
    }

    private static JsonNode body(Context ctx) {
        byte[] b = ctx.bodyAsBytes();
        if (b.length > MAX_BODY_BYTES) {
            throw new ApiError(413, "request body larger than " + MAX_BODY_BYTES + " bytes");
        }
        try {
            JsonNode n = EventCodec.JSON.readTree(b);
            if (n == null || !n.isObject()) {
                throw new ApiError(400, "body must be a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new ApiError(400, "malformed JSON: " + EventCodec.firstLine(e.getMessage()));
        }
    }

    private void login(Context ctx) {
        JsonNode b = body(ctx);
        JsonNode t = b.get("token");
        if (t == null || !t.isTextual()) {
            throw new ApiError(400, "field \"token\" is missing or not a string");
        }
        Annotator a = catalog.authenticate(t.textValue()).orElseThrow(() -> new ApiError(401, "unknown token"));
        ObjectNode n = EventCodec.JSON.createObjectNode();
        n.put("annotator_id", a.id()).put("name", a.name()).put("role", a.role());
        ctx.json(n);
    }

    private static ObjectNode itemJson(Item it) {
        ObjectNode n = EventCodec.JSON.createObjectNode();
        n.put("item_id", it.id());
        n.put("prompt", it.prompt());
        ArrayNode rs = n.putArray("responses");
        it.responses().forEach(rs::add);
        return n;
    }

    private void next(Context ctx) {
        Annotator a = auth(ctx);
        Optional<Item> it = catalog.nextItem(a.id());
        if (it.isEmpty()) {
            ctx.status(HttpStatus.NO_CONTENT);
            return;
        }
        ctx.contentType("application/json").result(itemJson(it.get()).toString());
    }

    private void item(Context ctx) {
        Annotator a = auth(ctx);
        long id = parseId(ctx.pathParam("id"));
        Item it = catalog.item(id).orElseThrow(() -> new ApiError(404, "unknown item " + id));
        if (!catalog.isAssigned(id, a.id())) {
            throw new ApiError(403, "item " + id + " is not assigned to annotator " + a.name());
        }
        ctx.contentType("application/json").result(itemJson(it).toString());
    }

    private static long parseId(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new ApiError(400, "item id must be an integer, got '" + s + "'");
        }
    }

    private void submit(Context ctx) {
        Annotator a = auth(ctx);
        JsonNode b = body(ctx);
        JsonNode item = b.get("item_id");
        if (item == null || !item.isIntegralNumber() || !item.canConvertToLong()) {
            throw new ApiError(400, "field \"item_id\" is missing or not an integer");
        }
        JsonNode claimed = b.get("annotator_id");
        if (claimed != null && !claimed.isNull() && (!claimed.isIntegralNumber() || claimed.longValue() != a.id())) {
            throw new ApiError(403, "annotator_id " + claimed + " does not match the annotator of this token");
        }
        for (var it = b.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!List.of("item_id", "ranking", "ties", "skip", "unsafe", "annotator_id").contains(f)) {
                throw new ApiError(400, "unknown field \"" + f + "\"");
            }
        }
        JsonNode skipNode = b.get("skip");
        if (skipNode != null && !skipNode.isNull() && !skipNode.isBoolean()) {
            throw new ApiError(400, "field \"skip\" must be a boolean");
        }
        boolean skip = skipNode != null && skipNode.booleanValue();
        List<Integer> ranking;
        List<RankingEvent.Tie> ties;
        List<Integer> unsafe;
        try {
            if (!skip && (b.get("ranking") == null || b.get("ranking").isNull())) {
                throw new ApiError(400, "field \"ranking\" is required unless skip is true");
            }
            ranking = EventCodec.ints(b, "ranking");
            ties = EventCodec.ties(b.get("ties"));
            unsafe = EventCodec.ints(b, "unsafe");
        } catch (EventCodec.DecodeException e) {
            throw new ApiError(400, e.getMessage());
        }
        SubmitOutcome o = submissions.submit(a, new Submission(item.longValue(), ranking, ties, skip, unsafe), "web");
        switch (o) {
            case SubmitOutcome.Accepted acc -> {
                ObjectNode n = EventCodec.JSON.createObjectNode();
                n.put("event_id", acc.eventId().toString()).put("partition", acc.partition()).put("offset", acc.offset());
                ctx.status(202).contentType("application/json").result(n.toString());
            }
            case SubmitOutcome.Refused r -> throw new ApiError(r.status(), r.reason());
        }
    }

    private void stats(Context ctx) throws Exception {
        Annotator a = auth(ctx);
        if (!a.isOperator()) {
            throw new ApiError(403, "agreement stats are for operators");
        }
        Agreement.Report r = Agreement.compute(catalog.dataSource());
        ctx.contentType("application/json").result(EventCodec.JSON.writeValueAsString(r));
    }
}
