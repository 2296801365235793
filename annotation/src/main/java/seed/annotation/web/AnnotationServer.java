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
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.annotation.core.Annotator;
import seed.annotation.core.Catalog;
import seed.annotation.core.EventCodec;
import seed.annotation.core.Item;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.Submission;
import seed.annotation.core.SubmissionService;
import seed.annotation.core.SubmitOutcome;
import seed.annotation.core.SubmitPhases;
import seed.annotation.ingest.Ingester;
import seed.annotation.stats.Agreement;

/**
 * The annotators' web page and the JSON API behind it (also for tools). Every API call carries the personal token
 * ({@code Authorization: Bearer TOKEN}, or Basic with the token as password, see {@link AuthHeader}). Roles: an
 * annotator ranks its own assignments and sees nothing of others; an operator manages (loads candidates, reads
 * stats and progress) but does not rank; an auditor reads stats and progress and changes nothing; the importer
 * submits like an annotator. Every refusal is a 4xx with {@code {"error": reason}} and stores nothing; a 500 never
 * shows internals (it carries a reference to the server log line).
 *
 * <pre>
 * GET  /health                                         -> {"status","database":{state,latency_ms,error},
 *                                                          "ingester":{state,lag,last_error,rejected,last_rejection}}
 *                                                         (503 when the database does not answer or the ingester
 *                                                          is retrying, failed or stopped)
 * POST /api/login              {"token"}               -> {"annotator_id","name","role"}
 * GET  /api/items/next         (rankers)               -> {"item_id","prompt","responses"} | 204 when none left
 * GET  /api/items/{id}         (rankers)               -> same, only for an item assigned to the caller
 * POST /api/submissions        (rankers) {"item_id","ranking","ties"?,"skip"?,"unsafe"?,"annotator_id"?,"comment"?}
 *                                                      -> 202 {"event_id","partition","offset"}
 * GET  /api/me/submissions     (rankers)               -> [{"item_id","submitted_at","event_id","stored":{ranking,
 *                                                          ties,skip,unsafe,comment}|null}] newest first
 * GET  /api/me/progress        (anyone)                -> {"done","skipped","in_progress","left","assigned","open"}
 * GET  /api/guidelines         (anyone)                -> {"markdown"} (null when none configured)
 * GET  /api/stats              (operators, auditors)   -> agreement report
 * GET  /api/progress           (operators, auditors)   -> per annotator: the same progress fields, agreement
 * POST /api/items?annotators=N (operators) candidates JSONL body -> {"items","first_item_id"}
 * </pre>
 */
public final class AnnotationServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AnnotationServer.class);

    /** Largest accepted request body. */
    public static final int MAX_BODY_BYTES = 64 * 1024;

    /**
     * Request budgets. Failed authentications (unknown token, malformed header) per client address per minute;
     * submissions per token and per address per second (with a burst). Over budget = 429 with Retry-After.
     */
    public record Limits(double failedAuthPerMinute, double submitsPerSecondPerToken, double submitsPerSecondPerAddress) {
        /**
         * Guessing tokens is slowed to 20 failures a minute per address. Submissions are flood control, not a human
         * pace: tools (the pipeline's synthetic annotators, importers) submit hundreds a second per token, and one
         * address may carry a whole team (NAT); the burst is four times the rate per token, twice per address.
         */
        public static Limits defaults() {
            return new Limits(20, 100, 2000);
        }

        /** For benchmarks that drive thousands of submissions a second from one address. */
        public static Limits unlimited() {
            return new Limits(1e9, 1e9, 1e9);
        }

        /**
         * The defaults, each overridable from the environment (SEED_FAILED_AUTH_PER_MINUTE,
         * SEED_SUBMITS_PER_SECOND_PER_TOKEN, SEED_SUBMITS_PER_SECOND_PER_ADDRESS), so a host's budgets are set where
         * its services are (e.g. low ones in a test of how clients take a 429). A value that is not a positive
         * number is an error, not a silent default.
         */
        public static Limits fromEnv(java.util.Map<String, String> env) {
            Limits d = defaults();
            return new Limits(positive(env, "SEED_FAILED_AUTH_PER_MINUTE", d.failedAuthPerMinute()),
                    positive(env, "SEED_SUBMITS_PER_SECOND_PER_TOKEN", d.submitsPerSecondPerToken()),
                    positive(env, "SEED_SUBMITS_PER_SECOND_PER_ADDRESS", d.submitsPerSecondPerAddress()));
        }

        private static double positive(java.util.Map<String, String> env, String name, double fallback) {
            String v = env.get(name);
            if (v == null || v.isBlank()) {
                return fallback;
            }
            try {
                double x = Double.parseDouble(v.trim());
                if (x > 0 && Double.isFinite(x)) {
                    return x;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException(name + " must be a positive number, got '" + v + "'");
        }
    }

    /**
     * Server settings.
     *
     * @param limits       request budgets
     * @param ingester     the ingester's health when it runs in this process (or null): /health reports it and
     *                     submissions are refused with 503 while it is down, because they would not be stored
     * @param tlsKeystore  PKCS12 keystore to serve HTTPS only, or null for plain HTTP
     * @param tlsPassword  the keystore's password (never logged)
     * @param guidelines   the project's annotation guidelines (markdown) shown on the page, or null
     */
    public record Options(Limits limits, Supplier<Ingester.Health> ingester, Path tlsKeystore, String tlsPassword,
                          String guidelines) {
        public static Options defaults() {
            return new Options(Limits.defaults(), null, null, null, null);
        }

        public Options withIngester(Supplier<Ingester.Health> h) {
            return new Options(limits, h, tlsKeystore, tlsPassword, guidelines);
        }

        public Options withLimits(Limits l) {
            return new Options(l, ingester, tlsKeystore, tlsPassword, guidelines);
        }

        public Options withTls(Path keystore, String password) {
            return new Options(limits, ingester, keystore, password, guidelines);
        }

        public Options withGuidelines(String markdown) {
            return new Options(limits, ingester, tlsKeystore, tlsPassword, markdown);
        }

        @Override
        public String toString() {
            return "Options[limits=" + limits + ", ingester=" + (ingester != null) + ", tlsKeystore=" + tlsKeystore
                    + ", tlsPassword=" + (tlsPassword == null ? "none" : "***") + "]";
        }
    }

    private static final Set<String> SUBMISSION_FIELDS = Set.of("item_id", "ranking", "ties", "skip", "unsafe", "annotator_id",
            "comment", "supersedes", "strengths");

    private final Catalog catalog;
    private final SubmissionService submissions;
    private final Options options;
    private final RateLimiter failedAuth;
    private final RateLimiter submitsPerToken;
    private final RateLimiter submitsPerAddress;
    private final Javalin app;
    private final DatabaseProbe dbProbe;
    /** Where the TLS connector listens (set by {@link #start} before Jetty builds its connectors). */
    private volatile String bindHost;
    private volatile int bindPort;

    public AnnotationServer(Catalog catalog, SubmissionService submissions) {
        this(catalog, submissions, Options.defaults());
    }

    public AnnotationServer(Catalog catalog, SubmissionService submissions, Options options) {
        this.catalog = catalog;
        this.submissions = submissions;
        this.options = options;
        Limits l = options.limits();
        this.failedAuth = new RateLimiter(l.failedAuthPerMinute() / 60.0, Math.max(1, l.failedAuthPerMinute()));
        this.submitsPerToken = new RateLimiter(l.submitsPerSecondPerToken(), Math.max(1, 4 * l.submitsPerSecondPerToken()));
        // no catalog: a server built only to test transport (TLS); its health has no database to probe
        this.dbProbe = catalog == null ? null : new DatabaseProbe(catalog.dataSource());
        this.submitsPerAddress = new RateLimiter(l.submitsPerSecondPerAddress(), Math.max(1, 2 * l.submitsPerSecondPerAddress()));
        this.app = Javalin.create(cfg -> {
            cfg.showJavalinBanner = false;
            cfg.http.maxRequestSize = MAX_BODY_BYTES;
            // platform threads by default; -Dseed.http.virtual-threads=true runs each request on a virtual thread (a
            // submission blocks twice, on the claim and on the Kafka ack, and each block parks an OS thread now), for
            // comparison with `seed bench submit` on a quiet machine
            cfg.useVirtualThreads = Boolean.getBoolean("seed.http.virtual-threads");
            if (options.tlsKeystore() != null) {
                cfg.jetty.addConnector((server, httpConfig) -> {
                    SslContextFactory.Server ssl = new SslContextFactory.Server();
                    ssl.setKeyStorePath(options.tlsKeystore().toAbsolutePath().toString());
                    ssl.setKeyStorePassword(options.tlsPassword());
                    ssl.setKeyStoreType("PKCS12");
                    ServerConnector c = new ServerConnector(server, ssl);
                    c.setHost(bindHost);
                    c.setPort(bindPort);
                    return c;
                });
            }
        });
        app.before(this::limitBody);
        app.after(this::securityHeaders);
        app.get("/", ctx -> resource(ctx, "index.html", "text/html; charset=utf-8"));
        app.get("/app.js", ctx -> resource(ctx, "app.js", "text/javascript; charset=utf-8"));
        app.get("/app.css", ctx -> resource(ctx, "app.css", "text/css; charset=utf-8"));
        app.get("/health", this::health);
        app.post("/api/login", this::login);
        app.get("/api/items/next", this::next);
        app.get("/api/items/{id}", this::item);
        app.post("/api/items", this::load);
        app.post("/api/submissions", this::submit);
        app.get("/api/me/progress", this::myProgress);
        app.get("/api/me/submissions", this::mySubmissions);
        app.get("/api/guidelines", ctx -> {
            auth(ctx);
            ObjectNode n = EventCodec.JSON.createObjectNode();
            n.put("markdown", options.guidelines());
            ctx.contentType("application/json").result(n.toString());
        });
        app.get("/api/stats", this::stats);
        app.get("/api/progress", this::progress);
        app.exception(ApiError.class, (e, ctx) -> {
            if (e.retryAfter > 0) {
                ctx.header("Retry-After", Long.toString(e.retryAfter));
            }
            error(ctx, e.status, e.getMessage());
            if (e.eventId != null) {
                ObjectNode n = EventCodec.JSON.createObjectNode();
                n.put("error", e.getMessage()).put("event_id", e.eventId.toString());
                ctx.result(n.toString());
            }
        });
        app.exception(Exception.class, this::internalError);
        app.error(404, ctx -> {
            String body = ctx.result();
            if (body == null || !body.startsWith("{")) {
                error(ctx, 404, "no such endpoint: " + ctx.method() + " " + ctx.path());
            }
        });
        app.error(413, ctx -> error(ctx, 413, "request body larger than " + MAX_BODY_BYTES + " bytes"));
    }

    /** Starts on the given port (0 = a free one) and returns the port (the HTTPS one when TLS is configured). */
    public int start(String host, int port) {
        bindHost = host;
        bindPort = port;
        app.start(host, port);
        return port();
    }

    public int port() {
        if (options.tlsKeystore() != null) {
            for (var c : app.jettyServer().server().getConnectors()) {
                if (c instanceof ServerConnector sc && sc.getDefaultConnectionFactory().getProtocol().startsWith("SSL")) {
                    return sc.getLocalPort();
                }
            }
        }
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
        if (dbProbe != null) {
            dbProbe.close();
        }
    }

    /** An API refusal: HTTP status and the reason shown to the caller. */
    static final class ApiError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;
        final long retryAfter;
        /** The attempt's event whose fate a 503 leaves open, or null (see SubmitOutcome.Refused). */
        final UUID eventId;

        ApiError(int status, String reason) {
            this(status, reason, 0);
        }

        ApiError(int status, String reason, long retryAfter) {
            this(status, reason, retryAfter, null);
        }

        ApiError(int status, String reason, long retryAfter, UUID eventId) {
            super(reason);
            this.status = status;
            this.retryAfter = retryAfter;
            this.eventId = eventId;
        }
    }

    private static void error(Context ctx, int status, String reason) {
        ObjectNode n = EventCodec.JSON.createObjectNode();
        n.put("error", reason);
        ctx.status(status).contentType("application/json").result(n.toString());
    }

    /**
     * An unexpected failure: logged in full with a reference, answered without internals. A database that cannot be
     * reached is a 503 (try again), not a 500.
     */
    private void internalError(Exception e, Context ctx) {
        String ref = UUID.randomUUID().toString().substring(0, 8);
        if (seed.annotation.infra.Infra.jvmShuttingDown()) {
            // serve is stopping: the embedded PostgreSQL stops in its own shutdown hook while requests are still in
            // flight; an expected end, one line (issue 19: a clean stop logged 57P01 stack traces)
            log.info("{} {} [ref {}]: not completed, the server is stopping", ctx.method(), ctx.path(), ref);
            ctx.header("Retry-After", "2");
            error(ctx, 503, "the server is stopping; try again shortly (ref " + ref + ")");
            return;
        }
        if (databaseUnavailable(e)) {
            log.warn("{} {} [ref {}]: database unavailable: {}", ctx.method(), ctx.path(), ref, e.toString());
            ctx.header("Retry-After", "2");
            error(ctx, 503, "the database is unavailable; try again shortly (ref " + ref + ")");
            return;
        }
        log.error("{} {} [ref {}] failed", ctx.method(), ctx.path(), ref, e);
        error(ctx, 500, "internal error (ref " + ref + "; the server log has the details)");
    }

    private static boolean databaseUnavailable(Throwable e) {
        return Catalog.connectionLost(e);
    }

    private void securityHeaders(Context ctx) {
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("X-Frame-Options", "DENY");
        ctx.header("Referrer-Policy", "no-referrer");
        ctx.header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
        ctx.header("Cache-Control", "no-store");
        if (options.tlsKeystore() != null) {
            ctx.header("Strict-Transport-Security", "max-age=31536000");
        }
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
            ctx.contentType(type).result(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    /** Refuses the caller's address once it has used up its budget of failed authentications. */
    private void checkAuthBudget(Context ctx) {
        String addr = ctx.ip();
        if (!failedAuth.tryAcquire(addr)) {
            throw new ApiError(429, "too many failed sign-ins from " + addr + "; wait before trying again",
                    failedAuth.retryAfterSeconds(addr));
        }
    }

    private Annotator authToken(Context ctx, String token) {
        Optional<Annotator> a = token == null ? Optional.empty() : catalog.authenticate(token);
        if (a.isEmpty()) {
            checkAuthBudget(ctx);
            throw new ApiError(401, token == null ? "missing Authorization: Bearer <token> header" : "unknown token");
        }
        return a.get();
    }

    private Annotator auth(Context ctx) {
        return authToken(ctx, AuthHeader.token(ctx.header("Authorization")).orElse(null));
    }

    /** The caller, who must be allowed to rank (annotator or importer); others get 403 with the reason. */
    private Annotator ranker(Context ctx) {
        Annotator a = auth(ctx);
        if (!a.mayRank()) {
            throw new ApiError(403, a.isOperator()
                    ? "operators manage annotation and do not rank; sign in with an annotator token to rank"
                    : "auditors read statistics and change nothing; ranking needs an annotator token");
        }
        return a;
    }

    /** The caller, who must be allowed to read statistics (operator or auditor). */
    private Annotator statsReader(Context ctx) {
        Annotator a = auth(ctx);
        if (!a.mayReadStats()) {
            throw new ApiError(403, "agreement statistics and progress show other annotators' rankings; they are for"
                    + " operators and auditors, not for " + a.role() + "s");
        }
        return a;
    }

    /** Parses a body as one strict JSON object (no trailing content, no duplicate keys). */
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
            throw new ApiError(400, "malformed JSON: " + EventCodec.jsonProblem(e));
        }
    }

    /**
     * Tells the truth for a supervisor or load balancer: 200 only while PostgreSQL answers and the ingester (when it
     * runs in this process) is starting or running; 503 with the state otherwise (database unreachable or frozen,
     * ingester RETRYING, FAILED or STOPPED), because submissions are refused or not stored then.
     */
    private void health(Context ctx) {
        ObjectNode n = EventCodec.JSON.createObjectNode();
        DatabaseProbe.Result db = dbProbe == null ? new DatabaseProbe.Result(true, -1, null) : dbProbe.check();
        ObjectNode d = n.putObject("database");
        d.put("state", db.up() ? "up" : "down");
        if (db.latencyMs() >= 0) {
            d.put("latency_ms", db.latencyMs());
        }
        if (db.error() != null) {
            d.put("error", db.error());
        }
        boolean up = db.up();
        if (options.ingester() != null) {
            Ingester.Health h = options.ingester().get();
            ObjectNode i = n.putObject("ingester");
            i.put("state", h.state().name().toLowerCase());
            i.put("lag", h.lag());
            i.put("last_error", h.lastError());
            i.put("last_error_at", h.lastErrorAt() == null ? null : h.lastErrorAt().toString());
            i.put("rejected", h.rejected());
            i.put("last_rejection", h.lastRejection());
            up &= h.state() == Ingester.State.RUNNING || h.state() == Ingester.State.STARTING;
        }
        n.put("status", up ? "up" : "down");
        if (!up) {
            ctx.header("Retry-After", "5");
        }
        ctx.status(up ? 200 : 503).contentType("application/json").result(n.toString());
    }

    private void login(Context ctx) {
        JsonNode b = body(ctx);
        JsonNode t = b.get("token");
        if (t == null || !t.isTextual()) {
            throw new ApiError(400, "field \"token\" is missing or not a string");
        }
        Annotator a = authToken(ctx, t.textValue());
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
        Annotator a = ranker(ctx);
        Optional<Item> it = catalog.nextItem(a.id());
        if (it.isEmpty()) {
            ctx.status(HttpStatus.NO_CONTENT);
            return;
        }
        ctx.contentType("application/json").result(itemJson(it.get()).toString());
    }

    private void item(Context ctx) {
        Annotator a = ranker(ctx);
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

    private void load(Context ctx) throws IOException {
        Annotator a = auth(ctx);
        if (!a.isOperator()) {
            throw new ApiError(403, a.isAuditor() ? "auditors read and change nothing; loading candidates is for operators"
                    : "loading candidates is for operators");
        }
        int per;
        try {
            per = Integer.parseInt(Optional.ofNullable(ctx.queryParam("annotators")).orElse("3"));
        } catch (NumberFormatException e) {
            throw new ApiError(400, "query parameter annotators must be an integer");
        }
        if (per < 1 || per > 1000) {
            throw new ApiError(400, "query parameter annotators must be between 1 and 1000, got " + per);
        }
        Catalog.LoadResult r;
        try {
            r = catalog.loadCandidatesText(ctx.body(), "body", per);
        } catch (Catalog.LoadException | IllegalArgumentException e) {
            throw new ApiError(400, e.getMessage());
        }
        ObjectNode n = EventCodec.JSON.createObjectNode();
        n.put("items", r.itemIds().size()).put("first_item_id", r.itemIds().get(0));
        ctx.status(201).contentType("application/json").result(n.toString());
    }

    /**
     * A load generator's send time ({@code System.nanoTime()}, which on Linux is one clock for every process of the
     * machine): with it the server records how long the request took to reach the handler, and answers with the
     * handler's end, so the benchmark can split its latency into client, inbound, handler and response.
     */
    public static final String BENCH_SENT_HEADER = "X-Seed-Bench-Sent-Ns";
    public static final String BENCH_DONE_HEADER = "X-Seed-Bench-Done-Ns";

    private void submit(Context ctx) {
        long start = System.nanoTime();
        SubmitPhases phases = submissions.phases();
        String benchSent = ctx.header(BENCH_SENT_HEADER);
        if (benchSent != null) {
            try {
                long inbound = start - Long.parseLong(benchSent);
                if (inbound >= 0 && inbound < 3_600_000_000_000L) {
                    phases.record(SubmitPhases.Phase.INBOUND, inbound);
                }
            } catch (NumberFormatException e) {
                // not a benchmark's header: ignore it
            }
        }
        Annotator a = ranker(ctx);
        String addr = ctx.ip();
        if (!submitsPerAddress.tryAcquire(addr)) {
            throw new ApiError(429, "too many submissions from " + addr, submitsPerAddress.retryAfterSeconds(addr));
        }
        String tokenKey = Long.toString(a.id());
        if (!submitsPerToken.tryAcquire(tokenKey)) {
            throw new ApiError(429, "too many submissions by annotator " + a.name() + "; slow down",
                    submitsPerToken.retryAfterSeconds(tokenKey));
        }
        if (options.ingester() != null) {
            Ingester.Health h = options.ingester().get();
            if (!h.state().isUp()) {
                throw new ApiError(503, "rankings cannot be stored right now (ingester " + h.state().name().toLowerCase()
                        + "); try again later");
            }
        }
        long tParse = System.nanoTime();
        phases.record(SubmitPhases.Phase.AUTH, tParse - start);
        JsonNode b = body(ctx);
        for (var it = b.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!SUBMISSION_FIELDS.contains(f)) {
                throw new ApiError(400, "unknown field \"" + (f.length() > 40 ? f.substring(0, 40) + "..." : f) + "\"");
            }
        }
        JsonNode item = b.get("item_id");
        if (item == null || !item.isIntegralNumber() || !item.canConvertToLong()) {
            throw new ApiError(400, "field \"item_id\" is missing or not an integer");
        }
        JsonNode claimed = b.get("annotator_id");
        if (claimed != null && !claimed.isNull() && (!claimed.isIntegralNumber() || claimed.longValue() != a.id())) {
            throw new ApiError(403, "annotator_id does not match the annotator of this token");
        }
        JsonNode skipNode = b.get("skip");
        if (skipNode != null && !skipNode.isNull() && !skipNode.isBoolean()) {
            throw new ApiError(400, "field \"skip\" must be a boolean");
        }
        boolean skip = skipNode != null && skipNode.booleanValue();
        List<Integer> ranking;
        List<RankingEvent.Tie> ties;
        List<Integer> unsafe;
        List<Integer> strengths;
        try {
            if (!skip && (b.get("ranking") == null || b.get("ranking").isNull())) {
                throw new ApiError(400, "field \"ranking\" is required unless skip is true");
            }
            ranking = EventCodec.ints(b, "ranking");
            ties = EventCodec.ties(b.get("ties"));
            unsafe = EventCodec.ints(b, "unsafe");
            strengths = EventCodec.ints(b, "strengths");
        } catch (EventCodec.DecodeException e) {
            throw new ApiError(400, e.getMessage());
        }
        JsonNode commentNode = b.get("comment");
        if (commentNode != null && !commentNode.isNull() && !commentNode.isTextual()) {
            throw new ApiError(400, "field \"comment\" must be a string");
        }
        String comment = commentNode == null || commentNode.isNull() ? null : commentNode.textValue();
        JsonNode supNode = b.get("supersedes");
        UUID supersedes = null;
        if (supNode != null && !supNode.isNull()) {
            try {
                supersedes = UUID.fromString(supNode.isTextual() ? supNode.textValue() : "");
            } catch (IllegalArgumentException e) {
                throw new ApiError(400, "field \"supersedes\" must be the event id of the ranking being edited");
            }
        }
        String source = a.role().equals(Annotator.IMPORTER) ? "import" : "web";
        phases.record(SubmitPhases.Phase.PARSE, System.nanoTime() - tParse);
        SubmitOutcome o = submissions.submit(a, new Submission(item.longValue(), ranking, ties, skip, unsafe, comment, supersedes,
                strengths),
                source);
        switch (o) {
            case SubmitOutcome.Accepted acc -> {
                ObjectNode n = EventCodec.JSON.createObjectNode();
                n.put("event_id", acc.eventId().toString()).put("partition", acc.partition()).put("offset", acc.offset());
                if (acc.resubmission()) {
                    n.put("resubmission", true);
                }
                ctx.status(202).contentType("application/json").result(n.toString());
                long done = System.nanoTime();
                phases.record(SubmitPhases.Phase.HANDLER, done - start);
                if (benchSent != null) {
                    ctx.header(BENCH_DONE_HEADER, Long.toString(done));
                }
            }
            case SubmitOutcome.Refused r -> throw new ApiError(r.status(), r.reason(), r.retryAfterSeconds(), r.eventId());
        }
    }

    /** The one progress shape of the page, /api/me/progress and /api/progress (see Catalog.Progress). */
    private static void putProgress(ObjectNode n, Catalog.Progress p) {
        n.put("done", p.done()).put("skipped", p.skipped()).put("in_progress", p.inProgress())
                .put("left", p.left()).put("assigned", p.assigned())
                // "open" kept for older clients; it is "left" everywhere now
                .put("open", p.left());
    }

    /** The caller's history: what they submitted, newest first, with the stored ranking (null while on its way). */
    private void mySubmissions(Context ctx) {
        Annotator a = ranker(ctx);
        ArrayNode out = EventCodec.JSON.createArrayNode();
        for (Catalog.SubmittedItem si : catalog.submissions(a.id(), 500)) {
            ObjectNode n = out.addObject();
            n.put("item_id", si.itemId());
            n.put("submitted_at", si.submittedAt() == null ? null : si.submittedAt().toString());
            n.put("event_id", si.eventId().toString());
            if (si.stored() == null) {
                n.putNull("stored");
                continue;
            }
            ObjectNode st = n.putObject("stored");
            ArrayNode rk = st.putArray("ranking");
            si.stored().ranking().forEach(rk::add);
            ArrayNode ts = st.putArray("ties");
            si.stored().ties().forEach(t -> ts.addArray().add(t.a()).add(t.b()));
            st.put("skip", si.stored().skip());
            ArrayNode us = st.putArray("unsafe");
            si.stored().unsafe().forEach(us::add);
            st.put("comment", si.stored().comment());
            ArrayNode sg = st.putArray("strengths");
            si.stored().strengths().forEach(sg::add);
        }
        ctx.contentType("application/json").result(out.toString());
    }

    private void myProgress(Context ctx) {
        Annotator a = auth(ctx);
        ObjectNode n = EventCodec.JSON.createObjectNode();
        putProgress(n, catalog.progress(a.id()));
        ctx.contentType("application/json").result(n.toString());
    }

    private void stats(Context ctx) throws Exception {
        statsReader(ctx);
        Agreement.Report r = Agreement.compute(catalog.dataSource());
        ctx.contentType("application/json").result(EventCodec.JSON.writeValueAsString(r));
    }

    private void progress(Context ctx) throws Exception {
        statsReader(ctx);
        Agreement.Report r = Agreement.compute(catalog.dataSource());
        ArrayNode out = EventCodec.JSON.createArrayNode();
        for (Catalog.AnnotatorProgress p : catalog.progressByAnnotator()) {
            ObjectNode n = out.addObject();
            n.put("annotator_id", p.annotatorId()).put("name", p.name());
            putProgress(n, p.progress());
            for (Agreement.AnnotatorAgreement x : r.annotators()) {
                if (x.annotatorId() == p.annotatorId()) {
                    n.put("spearman_with_others", x.spearmanWithOthers());
                    n.put("spearman_with_gold", x.spearmanWithGold());
                }
            }
        }
        ctx.contentType("application/json").result(out.toString());
    }
}
