package seed.workflows.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.annotation.Annotation;
import seed.reward.data.Ranking;
import seed.reward.demo.SyntheticPreferences;

/**
 * Simulated annotators for demos and tests: programs that rank by a known rule (polite and correct first) with some
 * noise, and submit through the annotation server's real HTTP API, so the demo exercises HTTP -> Kafka -> PostgreSQL
 * exactly as people's rankings do.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Rank open items with synthetic annotators through the annotation server's HTTP API.")
@Plugin(examples = @Example(title = "Three noisy annotators", full = true, code = """
        id: synthetic
        namespace: seed
        tasks:
          - id: rank
            type: seed.workflows.tasks.SyntheticAnnotators
            annotators: 3
            noise: 0.1
        """))
public class SyntheticAnnotators extends AnnotationTask<SyntheticAnnotators.Output> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Schema(title = "Base URL of the annotation server")
    @Builder.Default
    private Property<String> annotationUrl = Property.ofExpression("{{ globals.annotation.url }}");

    @Schema(title = "How many synthetic annotators")
    @Builder.Default
    private Property<Integer> annotators = Property.ofValue(3);

    @Schema(title = "Probability that an annotator swaps two neighbours of the rule's order")
    @Builder.Default
    private Property<Double> noise = Property.ofValue(0.1);

    @Schema(title = "Seed of the noise")
    @Builder.Default
    private Property<Long> randomSeed = Property.ofValue(1340L);

    @Override
    protected Output execute(RunContext rc) throws Exception {
        URI base = URI.create(required(rc, annotationUrl, "annotationUrl").replaceAll("/+$", "") + "/");
        int n = required(rc, annotators, "annotators", Integer.class);
        double p = required(rc, noise, "noise", Double.class);
        SplittableRandom random = new SplittableRandom(required(rc, randomSeed, "randomSeed", Long.class));
        String run = rc.flowInfo().id() + "-" + executionId(rc).substring(0, 8);
        List<String> tokens = new ArrayList<>();
        try (Annotation annotation = connect(rc)) {
            for (int a = 1; a <= n; a++) { // a new identity per execution: tokens are stored hashed, never readable
                tokens.add(annotation.addAnnotator("synthetic-" + a + "-" + run, "annotator").token());
            }
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        Result r = submitAll(http, base, tokens, p, random, rc.logger());
        rc.logger().info("synthetic annotators: {} rankings accepted (HTTP 202), {} refused, {} waits after HTTP 429",
                r.accepted(), r.refused(), r.rateLimited());
        return Output.builder().accepted(r.accepted()).refused(r.refused()).rateLimited(r.rateLimited()).annotators(n)
                .build();
    }

    /** Most consecutive 429 answers to one request before giving up (each waited out for its Retry-After). */
    static final int MAX_RATE_LIMITED_RETRIES = 20;

    /** Longest single wait a Retry-After may ask for; a longer one is cut to this (the budget refills meanwhile). */
    static final long MAX_RETRY_AFTER_SECONDS = 60;

    /** What one pass over the open items did; {@code rateLimited} counts the 429 answers waited out. */
    record Result(int accepted, int refused, int rateLimited) {
    }

    /**
     * Ranks every item the server hands each token until none is left, over the real HTTP API. A 429 (the server's
     * request budget) is not a refusal: the request is sent again after the answer's Retry-After seconds, at most
     * {@link #MAX_RATE_LIMITED_RETRIES} times in a row, each wait logged and counted.
     */
    static Result submitAll(HttpClient http, URI base, List<String> tokens, double noise, SplittableRandom random,
                            org.slf4j.Logger log) throws Exception {
        int[] rateLimited = {0};
        int accepted = 0;
        int refused = 0;
        for (String token : tokens) {
            while (true) {
                seed.stages.control.Cancellation.check("synthetic annotators");
                HttpResponse<String> next = send(http, HttpRequest.newBuilder(base.resolve("api/items/next"))
                        .header("Authorization", "Bearer " + token).GET().build(), log, rateLimited);
                if (next.statusCode() == 204) {
                    break;
                }
                if (next.statusCode() != 200) {
                    throw new IllegalStateException("annotation server answered " + next.statusCode() + " to "
                            + "GET /api/items/next: " + next.body());
                }
                JsonNode item = JSON.readTree(next.body());
                List<String> responses = new ArrayList<>();
                item.get("responses").forEach(r -> responses.add(r.asText()));
                Ranking ranking = SyntheticPreferences.rank(item.get("prompt").asText(), responses, noise, random);
                ObjectNode body = JSON.createObjectNode();
                body.put("item_id", item.get("item_id").asLong());
                var order = body.putArray("ranking");
                for (int i : ranking.order()) {
                    order.add(i);
                }
                var ties = body.putArray("ties");
                // the API refuses a tie the order contradicts (issue 19); the noise swap can make one, so send only
                // the ties that agree with the order
                List<seed.annotation.core.RankingEvent.Tie> given = new ArrayList<>();
                for (int[] t : ranking.ties()) {
                    given.add(new seed.annotation.core.RankingEvent.Tie(t[0], t[1]));
                }
                List<Integer> orderList = new ArrayList<>();
                for (int i : ranking.order()) {
                    orderList.add(i);
                }
                for (var t : seed.annotation.core.RankingRules.consistentTies(orderList, given)) {
                    ties.addArray().add(t.a()).add(t.b());
                }
                SyntheticPreferences.unsafe(responses).forEach(body.putArray("unsafe")::add); // the demo's harm (issue 22)
                HttpResponse<String> sent = send(http, HttpRequest.newBuilder(base.resolve("api/submissions"))
                        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), log, rateLimited);
                if (sent.statusCode() == 202) {
                    accepted++;
                } else {
                    refused++;
                    log.warn("submission refused ({}): {}", sent.statusCode(), sent.body());
                    if (sent.statusCode() >= 500 || refused > 10) {
                        throw new IllegalStateException("annotation server refuses submissions: " + sent.statusCode()
                                + " " + sent.body());
                    }
                }
            }
        }
        return new Result(accepted, refused, rateLimited[0]);
    }

    /**
     * Sends a request; while the answer is 429, waits its Retry-After and sends it again (bounded). A request that
     * is still rate limited after {@link #MAX_RATE_LIMITED_RETRIES} waits fails the task naming the limit.
     */
    private static HttpResponse<String> send(HttpClient http, HttpRequest req, org.slf4j.Logger log, int[] rateLimited)
            throws Exception {
        for (int attempt = 1; ; attempt++) {
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 429) {
                return r;
            }
            if (attempt > MAX_RATE_LIMITED_RETRIES) {
                throw new IllegalStateException("annotation server still rate limits " + req.method() + " "
                        + req.uri().getPath() + " after " + MAX_RATE_LIMITED_RETRIES + " waits: " + r.body());
            }
            long wait = retryAfterSeconds(r.headers().firstValue("Retry-After").orElse(null));
            rateLimited[0]++;
            log.info("annotation server rate limited {} {} (HTTP 429); waiting {} s as Retry-After asks (wait {} of at most {})",
                    req.method(), req.uri().getPath(), wait, attempt, MAX_RATE_LIMITED_RETRIES);
            sleepCancellable(wait * 1000);
        }
    }

    /**
     * Seconds to wait for a Retry-After value: its delta-seconds, cut to {@link #MAX_RETRY_AFTER_SECONDS}; 1 when it
     * is missing or not a number (an HTTP-date, which the annotation server never sends).
     */
    static long retryAfterSeconds(String header) {
        if (header != null) {
            try {
                return Math.max(0, Math.min(MAX_RETRY_AFTER_SECONDS, Long.parseLong(header.trim())));
            } catch (NumberFormatException e) {
                // fall through
            }
        }
        return 1;
    }

    /** Sleeps in short steps so a cancelled execution stops waiting at once. */
    private static void sleepCancellable(long ms) throws InterruptedException {
        long end = System.nanoTime() + ms * 1_000_000;
        while (true) {
            seed.stages.control.Cancellation.check("synthetic annotators");
            long left = (end - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                return;
            }
            Thread.sleep(Math.min(left, 100));
        }
    }

    /** How the submissions went. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "Rankings the server accepted (202)")
        private final int accepted;
        @Schema(title = "Rankings it refused")
        private final int refused;
        @Schema(title = "HTTP 429 answers waited out (Retry-After) and retried")
        private final int rateLimited;
        @Schema(title = "Synthetic annotators used")
        private final int annotators;
    }
}
