package seed.annotation.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import org.slf4j.Logger;
import seed.annotation.core.EventCodec;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.RankingRules;

/**
 * A ranker's side of the annotation server's HTTP API ({@code GET /api/items/next}, {@code POST /api/submissions}),
 * for programs that rank as people do (the demo's synthetic annotators, scripted tests): the same path, checks and
 * rate limits as the web page. A 429 is not a refusal: the request is sent again after the answer's Retry-After,
 * at most {@link #MAX_RATE_LIMITED_RETRIES} times in a row, each wait logged and counted. A cancelled caller (its
 * thread interrupted) stops between requests.
 */
public final class AnnotationClient {

    /** Most consecutive 429 answers to one request before giving up (each waited out for its Retry-After). */
    public static final int MAX_RATE_LIMITED_RETRIES = 20;

    /** Longest single wait a Retry-After may ask for; a longer one is cut to this (the budget refills meanwhile). */
    public static final long MAX_RETRY_AFTER_SECONDS = 60;

    /** An item the server handed a ranker. */
    public record OpenItem(long id, String prompt, List<String> responses) {
    }

    /** A ranker's answer to an item: best-first order, ties (pairs of indices) and responses flagged unsafe. */
    public record Judgement(List<Integer> order, List<RankingEvent.Tie> ties, List<Integer> unsafe) {
    }

    /** Decides a ranking for an item (a synthetic annotator's rule, a script). */
    @FunctionalInterface
    public interface Ranker {
        Judgement rank(OpenItem item);
    }

    /** What a pass over the open items did; {@code rateLimited} counts the 429 answers waited out. */
    public record Tally(int accepted, int refused, int rateLimited) {
    }

    private final URI base;
    private final HttpClient http;
    private final Logger log;
    private int rateLimited;

    /** A client of the server at {@code base} (e.g. http://127.0.0.1:8080/), logging waits and refusals to {@code log}. */
    public AnnotationClient(URI base, HttpClient http, Logger log) {
        String b = base.toString();
        this.base = URI.create(b.endsWith("/") ? b : b + "/");
        this.http = http;
        this.log = log;
    }

    /** A client with its own HTTP client (10 s connect timeout). */
    public AnnotationClient(URI base, Logger log) {
        this(base, HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build(), log);
    }

    /** The next item for this token's annotator, or empty when the server has none left for them (204). */
    public Optional<OpenItem> next(String token) throws IOException, InterruptedException {
        HttpResponse<String> r = send(HttpRequest.newBuilder(base.resolve("api/items/next"))
                .header("Authorization", "Bearer " + token).GET().build());
        if (r.statusCode() == 204) {
            return Optional.empty();
        }
        if (r.statusCode() != 200) {
            throw new IllegalStateException("annotation server answered " + r.statusCode() + " to GET /api/items/next: "
                    + r.body());
        }
        JsonNode item = EventCodec.JSON.readTree(r.body());
        List<String> responses = new ArrayList<>();
        item.get("responses").forEach(x -> responses.add(x.asText()));
        return Optional.of(new OpenItem(item.get("item_id").asLong(), item.get("prompt").asText(), responses));
    }

    /**
     * Submits a ranking; returns the HTTP answer (202 accepted). The API refuses a tie the order contradicts, so only
     * the ties that agree with the order are sent (a noisy ranker's swap can make one).
     */
    public HttpResponse<String> submit(String token, long itemId, Judgement j) throws IOException, InterruptedException {
        ObjectNode body = EventCodec.JSON.createObjectNode();
        body.put("item_id", itemId);
        var order = body.putArray("ranking");
        j.order().forEach(order::add);
        var ties = body.putArray("ties");
        for (RankingEvent.Tie t : RankingRules.consistentTies(j.order(), j.ties())) {
            ties.addArray().add(t.a()).add(t.b());
        }
        if (!j.unsafe().isEmpty()) {
            var unsafe = body.putArray("unsafe");
            j.unsafe().forEach(unsafe::add);
        }
        return send(HttpRequest.newBuilder(base.resolve("api/submissions"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build());
    }

    /**
     * Ranks every item the server hands each token, with {@code ranker}, until none is left. A refusal is logged and
     * counted; a 5xx, or more than 10 refusals, stops the pass (the server is not taking submissions).
     */
    public Tally rankAll(List<String> tokens, Ranker ranker) throws IOException, InterruptedException {
        int before = rateLimited;
        int accepted = 0;
        int refused = 0;
        for (String token : tokens) {
            for (Optional<OpenItem> item = next(token); item.isPresent(); item = next(token)) {
                HttpResponse<String> sent = submit(token, item.get().id(), ranker.rank(item.get()));
                if (sent.statusCode() == 202) {
                    accepted++;
                    continue;
                }
                refused++;
                log.warn("submission refused ({}): {}", sent.statusCode(), sent.body());
                if (sent.statusCode() >= 500 || refused > 10) {
                    throw new IllegalStateException("annotation server refuses submissions: " + sent.statusCode() + " "
                            + sent.body());
                }
            }
        }
        return new Tally(accepted, refused, rateLimited - before);
    }

    /**
     * Sends a request; while the answer is 429, waits its Retry-After and sends it again (bounded). A request that is
     * still rate limited after {@link #MAX_RATE_LIMITED_RETRIES} waits fails naming the limit.
     */
    private HttpResponse<String> send(HttpRequest req) throws IOException, InterruptedException {
        for (int attempt = 1; ; attempt++) {
            checkCancelled();
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 429) {
                return r;
            }
            if (attempt > MAX_RATE_LIMITED_RETRIES) {
                throw new IllegalStateException("annotation server still rate limits " + req.method() + " "
                        + req.uri().getPath() + " after " + MAX_RATE_LIMITED_RETRIES + " waits: " + r.body());
            }
            long wait = retryAfterSeconds(r.headers().firstValue("Retry-After").orElse(null));
            rateLimited++;
            log.info("annotation server rate limited {} {} (HTTP 429); waiting {} s as Retry-After asks (wait {} of at "
                    + "most {})", req.method(), req.uri().getPath(), wait, attempt, MAX_RATE_LIMITED_RETRIES);
            sleepCancellable(wait * 1000);
        }
    }

    /**
     * Seconds to wait for a Retry-After value: its delta-seconds, cut to {@link #MAX_RETRY_AFTER_SECONDS}; 1 when it
     * is missing or not a number (an HTTP-date, which the annotation server never sends).
     */
    public static long retryAfterSeconds(String header) {
        if (header != null) {
            try {
                return Math.max(0, Math.min(MAX_RETRY_AFTER_SECONDS, Long.parseLong(header.trim())));
            } catch (NumberFormatException e) {
                // fall through
            }
        }
        return 1;
    }

    /** Sleeps in short steps so a cancelled caller stops waiting at once. */
    private static void sleepCancellable(long ms) throws InterruptedException {
        long end = System.nanoTime() + ms * 1_000_000;
        while (true) {
            checkCancelled();
            long left = (end - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                return;
            }
            Thread.sleep(Math.min(left, 100));
        }
    }

    /** Kestra's kill interrupts the task's thread: stop between requests (the flag stays set for the caller). */
    private static void checkCancelled() {
        if (Thread.currentThread().isInterrupted()) {
            throw new CancellationException("annotation client: cancelled");
        }
    }
}
