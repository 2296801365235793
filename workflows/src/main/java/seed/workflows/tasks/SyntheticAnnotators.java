package seed.workflows.tasks;

import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.annotation.Annotation;
import seed.annotation.client.AnnotationClient;
import seed.annotation.core.RankingEvent;
import seed.reward.data.Ranking;
import seed.reward.demo.SyntheticPreferences;

/**
 * Simulated annotators for demos and tests: programs that rank by a known rule (polite and correct first) with some
 * noise, and submit through the annotation server's real HTTP API ({@link AnnotationClient}), so the demo exercises
 * HTTP -> Kafka -> PostgreSQL exactly as people's rankings do.
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

    @Schema(title = "Base URL of the annotation server")
    @NotNull
    @Builder.Default
    private Property<String> annotationUrl = Property.ofExpression("{{ globals.annotation.url }}");

    @Schema(title = "How many synthetic annotators")
    @NotNull
    @Builder.Default
    private Property<Integer> annotators = Property.ofValue(3);

    @Schema(title = "Probability that an annotator swaps two neighbours of the rule's order")
    @NotNull
    @Builder.Default
    private Property<Double> noise = Property.ofValue(0.1);

    @Schema(title = "Seed of the noise")
    @NotNull
    @Builder.Default
    private Property<Long> randomSeed = Property.ofValue(1340L);

    @Override
    protected Output execute(RunContext rc) throws Exception {
        URI base = URI.create(required(rc, annotationUrl, "annotationUrl"));
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
        AnnotationClient.Tally r = new AnnotationClient(base, rc.logger())
                .rankAll(tokens, item -> judgement(SyntheticPreferences.rank(item.prompt(), item.responses(), p, random),
                        SyntheticPreferences.unsafe(item.responses())));
        rc.logger().info("synthetic annotators: {} rankings accepted (HTTP 202), {} refused, {} waits after HTTP 429",
                r.accepted(), r.refused(), r.rateLimited());
        return Output.builder().accepted(r.accepted()).refused(r.refused()).rateLimited(r.rateLimited()).annotators(n)
                .build();
    }

    /**
     * The synthetic annotator's ranking and the responses it flags unsafe (both SyntheticPreferences' rule: the demo's
     * rude answers, issue 22) as the API's submission.
     */
    static AnnotationClient.Judgement judgement(Ranking ranking, List<Integer> unsafe) {
        List<RankingEvent.Tie> ties = ranking.ties().stream().map(t -> new RankingEvent.Tie(t[0], t[1])).toList();
        return new AnnotationClient.Judgement(Arrays.stream(ranking.order()).boxed().toList(), ties, unsafe);
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
