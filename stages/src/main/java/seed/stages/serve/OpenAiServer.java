package seed.stages.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.stages.data.ChatTemplate;
import seed.stages.generate.SamplingSettings;
import seed.stages.model.Gpt;
import seed.stages.tokenizer.Tokenizer;

/**
 * {@code seed serve}: OpenAI's HTTP API (the convention vLLM, llama.cpp's server and every client library speak) in
 * front of a {@link DecodeLoop}, so other programs, evaluation harnesses and LLM judges can call a trained model.
 * {@code GET /v1/models}, {@code POST /v1/completions}, {@code POST /v1/chat/completions}, with the sampling
 * settings of OpenAI plus vLLM's extras ({@code top_k}, {@code min_p}, {@code repetition_penalty},
 * {@code ignore_eos}), streaming as server-sent events, and errors in OpenAI's shape. The JDK's HTTP server, one
 * virtual thread per request: a request thread only parses, queues its sequences and writes what the loop reports.
 */
public final class OpenAiServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OpenAiServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What one server accepts: request body bytes, {@code max_tokens}, requests generating at once (more get 429),
     * choices per request ({@code n} times prompts), sequences per decode step, bearer tokens (empty = open), and
     * vLLM's stream interval: a stream writes once at least this many new tokens are there (1 = every token; more
     * trades smoothness for fewer writes and thread wake-ups when many streams share the machine).
     */
    public record Settings(String host, int port, String modelName, int maxBodyBytes, int maxTokens,
            int maxConcurrent, int maxChoices, int maxBatch, Set<String> apiKeys, int streamInterval) {

        public Settings(String host, int port, String modelName, int maxBodyBytes, int maxTokens, int maxConcurrent,
                int maxChoices, int maxBatch, Set<String> apiKeys) {
            this(host, port, modelName, maxBodyBytes, maxTokens, maxConcurrent, maxChoices, maxBatch, apiKeys, 1);
        }

        public static Settings defaults(String modelName) {
            return new Settings("127.0.0.1", 8000, modelName, 1 << 20, 4096, 64, 16, 32, Set.of());
        }

        public Settings withStreamInterval(int tokens) {
            return new Settings(host, port, modelName, maxBodyBytes, maxTokens, maxConcurrent, maxChoices, maxBatch,
                    apiKeys, Math.max(1, tokens));
        }

        public Settings withPort(int newPort) {
            return new Settings(host, newPort, modelName, maxBodyBytes, maxTokens, maxConcurrent, maxChoices, maxBatch,
                    apiKeys, streamInterval);
        }

        public Settings withApiKeys(Set<String> keys) {
            return new Settings(host, port, modelName, maxBodyBytes, maxTokens, maxConcurrent, maxChoices, maxBatch,
                    Set.copyOf(keys), streamInterval);
        }

        public Settings withLimits(int bodyBytes, int tokens, int concurrent, int choices, int batch) {
            return new Settings(host, port, modelName, bodyBytes, tokens, concurrent, choices, batch, apiKeys,
                    streamInterval);
        }
    }

    private final Settings settings;
    /** The model being served now; {@link #swap} replaces it between requests. */
    private final java.util.concurrent.atomic.AtomicReference<Served> current = new java.util.concurrent.atomic.AtomicReference<>();
    /** The model a request thread started with: a request finishes on the model it began on, even across a swap. */
    private final ThreadLocal<Served> request = new ThreadLocal<>();
    private final HttpServer http;
    private final ExecutorService executor;
    private final Semaphore slots;
    private final long created = System.currentTimeMillis() / 1000;

    private OpenAiServer(String id, Gpt model, Tokenizer tokenizer, ChatPrompt chat, Settings settings,
            AutoCloseable owned) throws IOException {
        this.settings = settings;
        this.slots = new Semaphore(settings.maxConcurrent());
        this.current.set(new Served(id, model, tokenizer, chat, new DecodeLoop(model, tokenizer, settings.maxBatch()),
                owned));
        // a stream writes a small chunk per token: with Nagle's algorithm on (the JDK server's default) one waited
        // for the client's delayed ACK, ~40 ms on Linux, about once per stream; read when the first server starts
        System.getProperties().putIfAbsent("sun.net.httpserver.nodelay", "true");
        this.http = HttpServer.create(new InetSocketAddress(settings.host(), settings.port()), 256);
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        http.setExecutor(executor);
        http.createContext("/", this::handle);
        http.start();
    }

    /** Starts serving {@code model} (port 0 = any free port; see {@link #port()}); chats in Seed's own format. */
    public static OpenAiServer start(Gpt model, Tokenizer tokenizer, Settings settings) throws IOException {
        return new OpenAiServer(settings.modelName(), model, tokenizer, ChatPrompt.seed(tokenizer), settings, null);
    }

    /**
     * Starts serving {@code model} under {@code id} (requests may also name {@code settings.modelName()}, e.g. the
     * alias a registry source follows), owning it: it is closed when swapped out or when the server stops.
     */
    public static OpenAiServer startOwning(String id, Gpt model, Tokenizer tokenizer, Settings settings)
            throws IOException {
        return new OpenAiServer(id, model, tokenizer, ChatPrompt.seed(tokenizer), settings, model);
    }

    public int port() {
        return http.getAddress().getPort();
    }

    /** The base URL clients use, e.g. {@code http://127.0.0.1:8000/v1}. */
    public URI baseUrl() {
        return URI.create("http://" + settings.host() + ":" + port() + "/v1");
    }

    /** The decode loop's counters (steps, mean batch), for benchmarks and logs. */
    public String stats() {
        return current.get().loop().stats();
    }

    /**
     * One model being served: its id, tokenizer, chat format and decode loop, and how many requests use it. A swapped
     * out model stays open until its last request ends, then its loop stops and {@code owned} (the model, when the
     * server loaded it) is closed: requests never see a model closed under them.
     */
    private record Served(String id, Gpt model, Tokenizer tokenizer, ChatPrompt chat, DecodeLoop loop,
            AutoCloseable owned, java.util.concurrent.atomic.AtomicInteger users,
            java.util.concurrent.atomic.AtomicBoolean retired) {

        Served(String id, Gpt model, Tokenizer tokenizer, ChatPrompt chat, DecodeLoop loop, AutoCloseable owned) {
            this(id, model, tokenizer, chat, loop, owned, new java.util.concurrent.atomic.AtomicInteger(),
                    new java.util.concurrent.atomic.AtomicBoolean());
        }

        /** Closes the loop and the owned model once retired and unused (exactly once). */
        void closeIfIdle() {
            if (retired.get() && users.get() == 0 && users.compareAndSet(0, Integer.MIN_VALUE)) {
                loop.close();
                if (owned != null) {
                    try {
                        owned.close();
                    } catch (Exception e) {
                        LOG.warn("closing the swapped-out model {}: {}", id, e.toString());
                    }
                }
            }
        }
    }

    /**
     * Serves {@code model} from the next request on (the id {@code /v1/models} shows becomes {@code id}); requests
     * already running finish on the old model, which is closed after the last of them. The server owns {@code model}
     * from now on and closes it when it is swapped out or the server stops. Chats use the tokenizer's own format.
     */
    public void swap(String id, Gpt model, Tokenizer tokenizer) {
        Served next = new Served(id, model, tokenizer, ChatPrompt.seed(tokenizer),
                new DecodeLoop(model, tokenizer, settings.maxBatch()), model);
        Served old = current.getAndSet(next);
        LOG.info("now serving {} (was {})", id, old.id());
        old.retired().set(true);
        old.closeIfIdle();
    }

    /** The id {@code /v1/models} shows now. */
    public String modelId() {
        return current.get().id();
    }

    /** Takes the current model for this request thread; a swap between this and the request's end waits for it. */
    private Served enter() {
        while (true) {
            Served s = current.get();
            int n = s.users().get();
            if (n >= 0 && s.users().compareAndSet(n, n + 1)) {
                if (current.get() == s || !s.retired().get()) {
                    request.set(s);
                    return s;
                }
                leave(s); // swapped out meanwhile: take the new one
            }
        }
    }

    private void leave(Served s) {
        request.remove();
        s.users().decrementAndGet();
        s.closeIfIdle();
    }

    private Served served() {
        Served s = request.get();
        return s != null ? s : current.get();
    }

    private Tokenizer tokenizer() {
        return served().tokenizer();
    }

    private DecodeLoop loop() {
        return served().loop();
    }

    private void handle(HttpExchange ex) {
        try (ex) {
            try {
                route(ex);
            } catch (ApiError e) {
                sendError(ex, e);
            } catch (Exception e) {
                LOG.error("request failed", e);
                sendError(ex, new ApiError(500, "server_error", "internal error: " + e.getMessage(), null, null));
            }
        }
    }

    private void route(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        if (path.equals("/health")) {
            send(ex, 200, JSON.createObjectNode());
            return;
        }
        authorize(ex);
        if (path.equals("/v1/models") && method.equals("GET")) {
            ObjectNode list = JSON.createObjectNode().put("object", "list");
            list.putArray("data").add(modelObject());
            send(ex, 200, list);
        } else if (path.startsWith("/v1/models/") && method.equals("GET")) {
            checkModel(path.substring("/v1/models/".length()));
            send(ex, 200, modelObject());
        } else if (path.equals("/v1/completions") && method.equals("POST")) {
            limited(ex, () -> completions(ex, readJson(ex)));
        } else if (path.equals("/v1/chat/completions") && method.equals("POST")) {
            limited(ex, () -> chatCompletions(ex, readJson(ex)));
        } else {
            throw new ApiError(404, "invalid_request_error", "no route " + method + " " + path, null,
                    "unknown_url");
        }
    }

    private interface Work {
        void run() throws IOException;
    }

    /** Runs a generating request if a slot is free; 429 otherwise (OpenAI's answer to too many requests). */
    private void limited(HttpExchange ex, Work work) throws IOException {
        if (!slots.tryAcquire()) {
            throw new ApiError(429, "rate_limit_error", "too many concurrent requests (the limit is "
                    + settings.maxConcurrent() + "); retry later", null, "rate_limit_exceeded");
        }
        Served s = enter();
        try {
            work.run();
        } finally {
            leave(s);
            slots.release();
        }
    }

    private ObjectNode modelObject() {
        Served now = served();
        return JSON.createObjectNode().put("id", now.id()).put("object", "model").put("created", created)
                .put("owned_by", "seed").put("max_model_len", now.loop().context());
    }

    private void checkModel(String name) {
        String id = served().id();
        // the configured name (e.g. the alias "production") stays valid while the id follows the swapped-in model
        if (!id.equals(name) && !settings.modelName().equals(name)) {
            throw new ApiError(404, "invalid_request_error", "The model `" + name + "` does not exist (this server "
                    + "serves `" + id + "`).", "model", "model_not_found");
        }
    }

    private void authorize(HttpExchange ex) {
        if (settings.apiKeys().isEmpty()) {
            return;
        }
        String header = ex.getRequestHeaders().getFirst("Authorization");
        String given = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).trim()
                : "";
        byte[] g = given.getBytes(StandardCharsets.UTF_8);
        boolean ok = false;
        for (String key : settings.apiKeys()) {
            ok |= MessageDigest.isEqual(g, key.getBytes(StandardCharsets.UTF_8)); // constant time per key
        }
        if (!ok) {
            throw new ApiError(401, "invalid_request_error", given.isEmpty()
                    ? "You didn't provide an API key (Authorization: Bearer KEY)." : "Incorrect API key provided.",
                    null, "invalid_api_key");
        }
    }

    private JsonNode readJson(HttpExchange ex) throws IOException {
        int limit = settings.maxBodyBytes();
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length != null && Long.parseLong(length.trim()) > limit) {
            drain(ex);
            throw tooLarge();
        }
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readNBytes(limit + 1);
            if (body.length > limit) {
                drain(ex);
                throw tooLarge();
            }
        }
        try {
            JsonNode node = JSON.readTree(body);
            if (node == null || !node.isObject()) {
                throw ApiError.invalid(null, "the request body must be a JSON object");
            }
            return node;
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw ApiError.invalid(null, "the request body is not valid JSON: " + e.getOriginalMessage());
        }
    }

    /**
     * Reads and discards what is left of an oversized body (up to 16 times the limit), so the client, still
     * sending, reads the 413 instead of a reset connection; beyond that the connection is dropped.
     */
    private void drain(HttpExchange ex) throws IOException {
        InputStream in = ex.getRequestBody();
        byte[] buffer = new byte[64 * 1024];
        long left = 16L * settings.maxBodyBytes();
        for (int n = in.read(buffer); n > 0 && left > 0; n = in.read(buffer)) {
            left -= n;
        }
    }

    private ApiError tooLarge() {
        return new ApiError(413, "invalid_request_error", "the request body is larger than "
                + settings.maxBodyBytes() + " bytes", null, "request_too_large");
    }

    // ---- requests ----

    /** A parsed generating request: prompts (token ids), sampling, and what to report. */
    private record Job(List<int[]> prompts, int n, SamplingSettings sampling, Sequence.Options options,
            boolean echo, boolean stream, boolean includeUsage, boolean seeded) {
    }

    private void completions(HttpExchange ex, JsonNode body) throws IOException {
        if (body.hasNonNull("model")) {
            checkModel(body.get("model").asText());
        }
        List<int[]> prompts = prompts(body.get("prompt"));
        int maxTokens = integer(body, "max_tokens", 16, 0, settings.maxTokens());
        Integer logprobs = body.hasNonNull("logprobs") ? integer(body, "logprobs", 0, 0, 20) : null;
        boolean echo = bool(body, "echo", false);
        Sequence.Options options = new Sequence.Options(logprobs == null ? 0 : logprobs, logprobs != null,
                echo && logprobs != null, bool(body, "ignore_eos", false));
        Job job = job(body, prompts, maxTokens, options, echo);
        run(ex, job, false);
    }

    private void chatCompletions(HttpExchange ex, JsonNode body) throws IOException {
        if (body.hasNonNull("model")) {
            checkModel(body.get("model").asText());
        }
        int[] prompt = served().chat().encode(messages(body.get("messages")));
        if (prompt.length >= loop().context()) {
            throw ApiError.invalid("messages", "This model's maximum context length is " + loop().context()
                    + " tokens; the messages take " + prompt.length + ", leaving no room for an answer.");
        }
        String tokensField = body.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        int room = Math.max(0, loop().context() - prompt.length);
        int maxTokens = integer(body, tokensField, Math.min(room, settings.maxTokens()), 1, settings.maxTokens());
        boolean logprobs = bool(body, "logprobs", false);
        int top = integer(body, "top_logprobs", 0, 0, 20);
        if (top > 0 && !logprobs) {
            throw ApiError.invalid("top_logprobs", "top_logprobs needs logprobs: true");
        }
        Sequence.Options options = new Sequence.Options(top, logprobs, false, bool(body, "ignore_eos", false));
        run(ex, job(body, List.of(prompt), maxTokens, options, false), true);
    }

    private Job job(JsonNode body, List<int[]> prompts, int maxTokens, Sequence.Options options, boolean echo) {
        int n = integer(body, "n", 1, 1, settings.maxChoices());
        if ((long) n * prompts.size() > settings.maxChoices()) {
            throw ApiError.invalid("n", "n times the number of prompts must be at most " + settings.maxChoices());
        }
        int context = loop().context();
        for (int[] p : prompts) {
            if (p.length == 0) {
                throw ApiError.invalid("prompt", "the prompt is empty");
            }
            if (p.length + maxTokens > context) {
                throw ApiError.invalid("max_tokens", "This model's maximum context length is " + context
                        + " tokens. However, you requested " + (p.length + maxTokens) + " tokens (" + p.length
                        + " in the prompt, " + maxTokens + " for the completion).");
            }
        }
        float temperature = (float) number(body, "temperature", 1.0, 0, 2);
        float topP = (float) positive(body, "top_p", 1.0, 1);
        int topK = integer(body, "top_k", 0, -1, Integer.MAX_VALUE);
        float minP = (float) number(body, "min_p", 0, 0, 1);
        float frequency = (float) number(body, "frequency_penalty", 0, -2, 2);
        float presence = (float) number(body, "presence_penalty", 0, -2, 2);
        float repetition = (float) positive(body, "repetition_penalty", 1, 10);
        boolean seeded = body.hasNonNull("seed");
        long seed;
        if (seeded) {
            if (!body.get("seed").canConvertToLong()) {
                throw ApiError.invalid("seed", "seed must be an integer");
            }
            seed = body.get("seed").asLong();
        } else {
            seed = ThreadLocalRandom.current().nextLong();
        }
        SamplingSettings sampling = new SamplingSettings(temperature, Math.max(0, topK), topP, maxTokens,
                stops(body.get("stop")), seed, true).withPenalties(frequency, presence, repetition, minP);
        boolean stream = bool(body, "stream", false);
        JsonNode streamOptions = body.get("stream_options");
        boolean usage = streamOptions != null && streamOptions.path("include_usage").asBoolean(false);
        return new Job(prompts, n, sampling, options, echo, stream, usage, seeded);
    }

    /** A completion's prompt: a string, a list of strings, a list of token ids, or a list of such lists. */
    private List<int[]> prompts(JsonNode prompt) {
        if (prompt == null || prompt.isNull()) {
            throw ApiError.invalid("prompt", "prompt is required");
        }
        List<int[]> out = new ArrayList<>();
        if (prompt.isTextual()) {
            out.add(tokenizer().encode(prompt.asText()));
        } else if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isInt()) {
            out.add(tokenIds(prompt));
        } else if (prompt.isArray() && !prompt.isEmpty()) {
            for (JsonNode p : prompt) {
                if (p.isTextual()) {
                    out.add(tokenizer().encode(p.asText()));
                } else if (p.isArray()) {
                    out.add(tokenIds(p));
                } else {
                    throw ApiError.invalid("prompt", "prompt must be a string, a list of strings or token ids");
                }
            }
        } else {
            throw ApiError.invalid("prompt", "prompt must be a string, a list of strings or token ids");
        }
        return out;
    }

    private int[] tokenIds(JsonNode list) {
        int[] ids = new int[list.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = list.get(i);
            if (!id.isInt() || id.asInt() < 0 || id.asInt() >= tokenizer().vocabSize()) {
                throw ApiError.invalid("prompt", "token ids must be integers in [0, " + tokenizer().vocabSize() + ")");
            }
            ids[i] = id.asInt();
        }
        return ids;
    }

    private static List<ChatTemplate.Message> messages(JsonNode list) {
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw ApiError.invalid("messages", "messages must be a non-empty list of {role, content}");
        }
        List<ChatTemplate.Message> out = new ArrayList<>();
        for (JsonNode m : list) {
            String role = m.path("role").asText("");
            if (role.equals("developer")) {
                role = "system"; // OpenAI's newer name for the system role
            }
            JsonNode content = m.get("content");
            String text;
            if (content != null && content.isTextual()) {
                text = content.asText();
            } else if (content != null && content.isArray()) {
                StringBuilder joined = new StringBuilder();
                for (JsonNode part : content) {
                    if (!part.path("type").asText().equals("text")) {
                        throw ApiError.invalid("messages", "only text content parts are supported");
                    }
                    joined.append(part.path("text").asText());
                }
                text = joined.toString();
            } else {
                throw ApiError.invalid("messages", "every message needs a string content");
            }
            try {
                out.add(new ChatTemplate.Message(role, text));
            } catch (IllegalArgumentException e) {
                throw ApiError.invalid("messages", e.getMessage());
            }
        }
        return out;
    }

    private static List<String> stops(JsonNode stop) {
        if (stop == null || stop.isNull()) {
            return List.of();
        }
        if (stop.isTextual()) {
            return List.of(stop.asText());
        }
        if (stop.isArray() && stop.size() <= 16) {
            List<String> out = new ArrayList<>();
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw ApiError.invalid("stop", "stop must be a string or a list of strings");
                }
                out.add(s.asText());
            }
            return out;
        }
        throw ApiError.invalid("stop", "stop must be a string or a list of at most 16 strings");
    }

    private static double number(JsonNode body, String name, double fallback, double min, double max) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber() || v.asDouble() < min || v.asDouble() > max || Double.isNaN(v.asDouble())) {
            throw ApiError.invalid(name, name + " must be a number in [" + min + ", " + max + "], got " + v);
        }
        return v.asDouble();
    }

    /** A number in (0, max]. */
    private static double positive(JsonNode body, String name, double fallback, double max) {
        JsonNode v = body.get(name);
        if (v != null && v.isNumber() && v.asDouble() <= 0) {
            throw ApiError.invalid(name, name + " must be a number in (0, " + max + "], got " + v);
        }
        return number(body, name, fallback, 0, max);
    }

    private static int integer(JsonNode body, String name, int fallback, int min, int max) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.canConvertToInt() || !(v.isIntegralNumber() || v.asDouble() == Math.rint(v.asDouble()))
                || v.asInt() < min || v.asInt() > max) {
            throw ApiError.invalid(name, name + " must be an integer in [" + min + ", " + max + "], got " + v);
        }
        return v.asInt();
    }

    private static boolean bool(JsonNode body, String name, boolean fallback) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isBoolean()) {
            throw ApiError.invalid(name, name + " must be true or false, got " + v);
        }
        return v.asBoolean();
    }

    // ---- running a job and answering ----

    /** One choice as it is generated. */
    private final class Choice {
        final int index;
        final int[] prompt;
        final TextAssembler text;
        final List<Sequence.Token> tokens = new ArrayList<>();
        Sequence.PromptScored scored;
        String finishReason;
        boolean echoSent;
        /** While streaming: whether this wake brought news, and the tokens not streamed yet (with logprobs). */
        boolean touched;
        final List<Sequence.Token> pending = new ArrayList<>();

        Choice(int index, int[] prompt, List<String> stops) {
            this.index = index;
            this.prompt = prompt;
            this.text = new TextAssembler(tokenizer(), stops);
        }
    }

    private void run(HttpExchange ex, Job job, boolean isChat) throws IOException {
        BlockingQueue<Sequence.Event> events = new LinkedBlockingQueue<>();
        List<Sequence> sequences = new ArrayList<>();
        List<Choice> choices = new ArrayList<>();
        long promptTokens = 0;
        for (int p = 0; p < job.prompts().size(); p++) {
            promptTokens += job.prompts().get(p).length;
            for (int i = 0; i < job.n(); i++) {
                int index = p * job.n() + i;
                choices.add(new Choice(index, job.prompts().get(p), job.sampling().stop()));
                SamplingSettings s = job.sampling().withSeed(job.sampling().seed() + index);
                sequences.add(loop().submit(index, job.prompts().get(p), s, job.options(), events));
            }
        }
        String id = (isChat ? "chatcmpl-" : "cmpl-") + HexFormat.of().formatHex(randomBytes());
        try {
            if (job.stream()) {
                stream(ex, job, isChat, id, events, choices, promptTokens);
            } else {
                int open = choices.size();
                while (open > 0) {
                    open -= apply(take(events), choices);
                }
                send(ex, 200, complete(job, isChat, id, choices, promptTokens));
            }
        } finally {
            sequences.forEach(Sequence::cancel); // a no-op for finished ones; frees the batch if the client left
        }
    }

    private static Sequence.Event take(BlockingQueue<Sequence.Event> events) {
        try {
            return events.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiError(503, "server_error", "interrupted", null, null);
        }
    }

    /** Applies an event to its choice; returns 1 when it ended the choice. */
    private static int apply(Sequence.Event event, List<Choice> choices) {
        Choice c = choices.get(event.index());
        switch (event) {
            case Sequence.PromptScored s -> c.scored = s;
            case Sequence.Token t -> {
                c.tokens.add(t);
                c.text.add(t.token());
            }
            case Sequence.Finished f -> {
                c.finishReason = f.reason();
                return 1;
            }
            case Sequence.Failed f -> throw new ApiError(500, "server_error", "generation failed: " + f.message(),
                    null, null);
        }
        return 0;
    }

    private ObjectNode complete(Job job, boolean isChat, String id, List<Choice> choices, long promptTokens) {
        ObjectNode out = header(id, isChat ? "chat.completion" : "text_completion");
        ArrayNode array = out.putArray("choices");
        long completionTokens = 0;
        for (Choice c : choices) {
            completionTokens += c.tokens.size();
            ObjectNode choice = array.addObject().put("index", c.index);
            if (isChat) {
                choice.putObject("message").put("role", "assistant").put("content", c.text.text()).putNull("refusal");
                if (job.options().logprobs()) {
                    ObjectNode lp = choice.putObject("logprobs");
                    chatLogprobs(lp.putArray("content"), c.tokens);
                    lp.putNull("refusal");
                } else {
                    choice.putNull("logprobs");
                }
            } else {
                String prefix = job.echo() ? TextAssembler.visible(tokenizer(), c.prompt) : "";
                choice.put("text", prefix + c.text.text());
                if (job.options().logprobs()) {
                    completionLogprobs(choice.putObject("logprobs"), job.echo() ? c : null, c.tokens,
                            job.echo() ? 0 : TextAssembler.visible(tokenizer(), c.prompt).length());
                } else {
                    choice.putNull("logprobs");
                }
            }
            choice.put("finish_reason", c.finishReason);
        }
        out.set("usage", usage(promptTokens, completionTokens));
        return out;
    }

    private ObjectNode header(String id, String object) {
        return header(id, object, System.currentTimeMillis() / 1000, served().id());
    }

    /** A response's head; every chunk of one stream has the same {@code created}, as OpenAI's do. */
    private static ObjectNode header(String id, String object, long created, String model) {
        return JSON.createObjectNode().put("id", id).put("object", object).put("created", created)
                .put("model", model);
    }

    private static ObjectNode usage(long prompt, long completion) {
        return JSON.createObjectNode().put("prompt_tokens", prompt).put("completion_tokens", completion)
                .put("total_tokens", prompt + completion);
    }

    private String tokenText(int token) {
        return tokenizer().decode(new int[] {token});
    }

    /**
     * The completions API's logprobs object: parallel lists {@code tokens}, {@code token_logprobs},
     * {@code top_logprobs} (token text to log-probability) and {@code text_offset}; with echo ({@code prompt} not
     * null) the prompt's tokens first, the very first with null (nothing predicts it).
     */
    private void completionLogprobs(ObjectNode lp, Choice prompt, List<Sequence.Token> tokens, int offset) {
        ArrayNode names = lp.putArray("tokens");
        ArrayNode values = lp.putArray("token_logprobs");
        ArrayNode tops = lp.putArray("top_logprobs");
        ArrayNode offsets = lp.putArray("text_offset");
        int at = offset;
        if (prompt != null && prompt.scored != null) {
            for (int k = 0; k < prompt.prompt.length; k++) {
                String name = tokenText(prompt.prompt[k]);
                names.add(name);
                float v = prompt.scored.logprobs()[k];
                if (Float.isNaN(v)) {
                    values.addNull();
                    tops.addNull();
                } else {
                    values.add(v);
                    tops.add(topMap(prompt.scored.top().get(k)));
                }
                offsets.add(at);
                at += name.length();
            }
        }
        for (Sequence.Token t : tokens) {
            String name = tokenText(t.token());
            names.add(name);
            values.add(t.logprob());
            tops.add(topMap(t.top()));
            offsets.add(at);
            at += name.length();
        }
    }

    private ObjectNode topMap(Sequence.Alternative[] top) {
        ObjectNode map = JSON.createObjectNode();
        if (top != null) {
            for (Sequence.Alternative a : top) {
                String name = tokenText(a.token());
                if (!map.has(name)) {
                    map.put(name, a.logprob());
                }
            }
        }
        return map;
    }

    /** The chat API's logprobs content: one entry per token with its bytes and top alternatives. */
    private void chatLogprobs(ArrayNode content, List<Sequence.Token> tokens) {
        for (Sequence.Token t : tokens) {
            ObjectNode entry = tokenEntry(content.addObject(), t.token(), t.logprob());
            ArrayNode top = entry.putArray("top_logprobs");
            if (t.top() != null) {
                for (Sequence.Alternative a : t.top()) {
                    tokenEntry(top.addObject(), a.token(), a.logprob());
                }
            }
        }
    }

    private ObjectNode tokenEntry(ObjectNode entry, int token, float logprob) {
        String name = tokenText(token);
        entry.put("token", name).put("logprob", logprob);
        ArrayNode bytes = entry.putArray("bytes");
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        return entry;
    }

    /**
     * Server-sent events: chunks as tokens arrive, then {@code [DONE]}. Every event the loop queued by the time the
     * writer wakes goes out in one write and flush (a slow client costs fewer writes, not more), each choice's new
     * text as one chunk. Chunks without log-probabilities, one per token at a fast client, are rendered by
     * {@link SseChunks} from a head rendered once; the rest (role, logprobs, usage, errors) by Jackson.
     */
    private void stream(HttpExchange ex, Job job, boolean isChat, String id, BlockingQueue<Sequence.Event> events,
            List<Choice> choices, long promptTokens) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        String object = isChat ? "chat.completion.chunk" : "text_completion";
        long createdAt = System.currentTimeMillis() / 1000;
        String modelId = served().id();
        SseChunks sse = new SseChunks(id, isChat, createdAt, modelId);
        if (isChat) {
            for (Choice c : choices) {
                ObjectNode chunk = header(id, object, createdAt, modelId);
                ObjectNode choice = chunk.putArray("choices").addObject().put("index", c.index);
                choice.putObject("delta").put("role", "assistant").put("content", "");
                choice.putNull("logprobs").putNull("finish_reason");
                sse.event(JSON.writeValueAsString(chunk));
            }
            sse.writeTo(out); // at once, as OpenAI does: the client sees the answer start before the first token
        }
        boolean logprobs = job.options().logprobs();
        int open = choices.size();
        long completionTokens = 0;
        List<Sequence.Event> drained = new ArrayList<>();
        int[] touched = new int[choices.size()]; // choices with news this wake, in the order they first had some
        while (open > 0) {
            drained.add(take(events));
            events.drainTo(drained);
            while (!enough(drained, settings.streamInterval())) {
                drained.add(take(events));
                events.drainTo(drained);
            }
            int count = 0;
            for (Sequence.Event e : drained) {
                if (e instanceof Sequence.Failed f) {
                    sse.event(JSON.writeValueAsString(errorBody(new ApiError(500, "server_error",
                            "generation failed: " + f.message(), null, null))));
                    sse.writeTo(out);
                    return;
                }
                open -= apply(e, choices);
                Choice c = choices.get(e.index());
                if (!c.touched) {
                    c.touched = true;
                    touched[count++] = e.index();
                }
                if (e instanceof Sequence.Token t) {
                    if (logprobs) {
                        c.pending.add(t);
                    }
                    completionTokens++;
                }
            }
            drained.clear();
            for (int k = 0; k < count; k++) {
                Choice c = choices.get(touched[k]);
                c.touched = false;
                String delta = c.text.delta(c.finishReason != null);
                if (job.echo() && !c.echoSent) {
                    delta = TextAssembler.visible(tokenizer(), c.prompt) + delta;
                    c.echoSent = true;
                }
                if (!logprobs) {
                    if (!delta.isEmpty() || c.finishReason != null) {
                        sse.content(c.index, delta, c.finishReason);
                    }
                    continue;
                }
                List<Sequence.Token> tokens = c.pending;
                if (delta.isEmpty() && c.finishReason == null && tokens.isEmpty()) {
                    continue;
                }
                ObjectNode chunk = header(id, object, createdAt, modelId);
                ObjectNode choice = chunk.putArray("choices").addObject().put("index", c.index);
                if (isChat) {
                    ObjectNode d = choice.putObject("delta");
                    if (!delta.isEmpty()) {
                        d.put("content", delta);
                    }
                    chatLogprobs(choice.putObject("logprobs").putArray("content"), tokens);
                } else {
                    choice.put("text", delta);
                    completionLogprobs(choice.putObject("logprobs"), null, tokens, 0);
                }
                choice.put("finish_reason", c.finishReason);
                sse.event(JSON.writeValueAsString(chunk));
                tokens.clear();
            }
            sse.writeTo(out);
        }
        if (job.includeUsage()) {
            ObjectNode chunk = header(id, object, createdAt, modelId);
            chunk.putArray("choices");
            chunk.set("usage", usage(promptTokens, completionTokens));
            sse.event(JSON.writeValueAsString(chunk));
        }
        sse.done();
        sse.writeTo(out);
    }

    /** Whether a stream should write now: {@code interval} new tokens, or anything that is not a token. */
    private static boolean enough(List<Sequence.Event> drained, int interval) {
        int tokens = 0;
        for (Sequence.Event e : drained) {
            if (!(e instanceof Sequence.Token)) {
                return true;
            }
            tokens++;
        }
        return tokens >= interval;
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    private static ObjectNode errorBody(ApiError e) {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode error = body.putObject("error").put("message", e.getMessage()).put("type", e.type);
        error.put("param", e.param);
        error.put("code", e.code);
        return body;
    }

    private static void sendError(HttpExchange ex, ApiError e) {
        try {
            send(ex, e.status, errorBody(e));
        } catch (IOException | RuntimeException ignored) {
            // the response had started (a stream) or the client left: nothing more can be said
        }
    }

    private static void send(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Stops accepting requests, then the decode loop. */
    @Override
    public void close() {
        http.stop(0);
        Served last = current.get();
        last.retired().set(true);
        last.loop().close();
        if (last.owned() != null) {
            try {
                last.owned().close();
            } catch (Exception e) {
                LOG.warn("closing {}: {}", last.id(), e.toString());
            }
        }
        executor.shutdownNow();
    }
}
