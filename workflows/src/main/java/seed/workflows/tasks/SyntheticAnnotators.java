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
import seed.reward.data.SyntheticPreferences;

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
        int accepted = 0;
        int refused = 0;
        for (String token : tokens) {
            while (true) {
                seed.stages.control.Cancellation.check("synthetic annotators");
                HttpResponse<String> next = http.send(HttpRequest.newBuilder(base.resolve("api/items/next"))
                        .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
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
                Ranking ranking = SyntheticPreferences.rank(item.get("prompt").asText(), responses, p, random);
                ObjectNode body = JSON.createObjectNode();
                body.put("item_id", item.get("item_id").asLong());
                var order = body.putArray("ranking");
                for (int i : ranking.order()) {
                    order.add(i);
                }
                var ties = body.putArray("ties");
                for (int[] t : ranking.ties()) {
                    ties.addArray().add(t[0]).add(t[1]);
                }
                HttpResponse<String> sent = http.send(HttpRequest.newBuilder(base.resolve("api/submissions"))
                        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (sent.statusCode() == 202) {
                    accepted++;
                } else {
                    refused++;
                    rc.logger().warn("submission refused ({}): {}", sent.statusCode(), sent.body());
                    if (sent.statusCode() >= 500 || refused > 10) {
                        throw new IllegalStateException("annotation server refuses submissions: " + sent.statusCode()
                                + " " + sent.body());
                    }
                }
            }
        }
        rc.logger().info("synthetic annotators: {} rankings accepted (HTTP 202), {} refused", accepted, refused);
        return Output.builder().accepted(accepted).refused(refused).annotators(n).build();
    }

    /** How the submissions went. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "Rankings the server accepted (202)")
        private final int accepted;
        @Schema(title = "Rankings it refused")
        private final int refused;
        @Schema(title = "Synthetic annotators used")
        private final int annotators;
    }
}
