package seed.workflows.tasks;

import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.annotation.Annotation;

/**
 * Waits until enough rankings are durable in PostgreSQL. It reads the database, not the Kafka topic, so nothing it
 * counts can be lost afterwards (the ingester commits offsets only after the database commit).
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Wait until N rankings of items from a given id on are stored, or fail after a timeout.")
@Plugin(examples = @Example(title = "Wait for people", full = true, code = """
        id: wait
        namespace: seed
        tasks:
          - id: wait
            type: seed.workflows.tasks.AwaitRankings
            fromItemId: "{{ outputs.load.minItemId }}"
            minRankings: 200
            waitFor: PT24H
        """))
public class AwaitRankings extends AnnotationTask<AwaitRankings.Output> {

    @Schema(title = "Count rankings of items with this id or higher (the batch LoadAnnotationItems created)")
    @Builder.Default
    private Property<Long> fromItemId = Property.ofValue(0L);

    @Schema(title = "Rankings needed (skips do not count)")
    private Property<Integer> minRankings;

    @Schema(title = "Give up after this long")
    @Builder.Default
    private Property<Duration> waitFor = Property.ofValue(Duration.ofMinutes(10));

    @Schema(title = "How often to look")
    @Builder.Default
    private Property<Duration> pollEvery = Property.ofValue(Duration.ofSeconds(1));

    @Override
    protected Output execute(RunContext rc) throws Exception {
        long from = required(rc, fromItemId, "fromItemId", Long.class);
        int needed = required(rc, minRankings, "minRankings", Integer.class);
        if (needed < 1) {
            throw new IllegalArgumentException("input 'minRankings' must be >= 1, got " + needed);
        }
        Duration limit = required(rc, waitFor, "waitFor", Duration.class);
        Duration poll = required(rc, pollEvery, "pollEvery", Duration.class);
        long deadline = System.nanoTime() + limit.toNanos();
        try (Annotation annotation = connect(rc)) {
            long have;
            long lastLogged = -1;
            while ((have = count(annotation, from)) < needed) {
                if (have != lastLogged) {
                    rc.logger().info("rankings: {}/{} stored", have, needed);
                    lastLogged = have;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("only " + have + " of " + needed + " rankings arrived within "
                            + limit);
                }
                Thread.sleep(poll.toMillis());
            }
            rc.logger().info("rankings: {}/{} stored, done", have, needed);
            return Output.builder().rankings(have).build();
        }
    }

    private static long count(Annotation annotation, long fromItem) throws Exception {
        try (Connection c = annotation.infra().dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "SELECT count(*) FROM ranking_events WHERE item_id >= ? AND NOT skip")) {
            ps.setLong(1, fromItem);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** How many rankings were stored when it stopped waiting. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "Rankings stored")
        private final long rankings;
    }
}
