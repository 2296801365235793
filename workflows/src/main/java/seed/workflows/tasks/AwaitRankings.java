package seed.workflows.tasks;

import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import java.util.List;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.annotation.Annotation;
import seed.annotation.snapshot.SnapshotScope;

/**
 * Waits until enough rankings of a run's items are durable in PostgreSQL (the annotation library's
 * {@code Snapshots.awaitRankings}: it reads the database, not the Kafka topic, so nothing it counts can be lost).
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Wait until N rankings of the given items are stored, or fail after a timeout.")
@Plugin(examples = @Example(title = "Wait for people", full = true, code = """
        id: wait
        namespace: seed
        tasks:
          - id: wait
            type: seed.workflows.tasks.AwaitRankings
            itemIds: "{{ outputs.load.itemIds }}"
            minRankings: 200
            waitFor: PT24H
        """))
public class AwaitRankings extends AnnotationTask<AwaitRankings.Output> {

    @Schema(title = "Count rankings of these items (the run's: LoadAnnotationItems' itemIds)")
    @NotNull
    private Property<List<Long>> itemIds;

    @Schema(title = "Rankings needed (skips do not count; an edited ranking counts once)")
    @NotNull
    private Property<Integer> minRankings;

    @Schema(title = "Give up after this long")
    @NotNull
    @Builder.Default
    private Property<Duration> waitFor = Property.ofValue(Duration.ofMinutes(10));

    @Schema(title = "How often to look")
    @NotNull
    @Builder.Default
    private Property<Duration> pollEvery = Property.ofValue(Duration.ofSeconds(1));

    @Override
    protected Output execute(RunContext rc) throws Exception {
        SnapshotScope items = SnapshotScope.items(longs(rc, itemIds, "itemIds"));
        int needed = required(rc, minRankings, "minRankings", Integer.class);
        if (needed < 1) {
            throw new IllegalArgumentException("input 'minRankings' must be >= 1, got " + needed);
        }
        Duration limit = required(rc, waitFor, "waitFor", Duration.class);
        Duration poll = required(rc, pollEvery, "pollEvery", Duration.class);
        try (Annotation annotation = connect(rc)) {
            long have = annotation.snapshots().awaitRankings(items, needed, limit, poll,
                    n -> rc.logger().info("rankings: {}/{} stored", n, needed));
            rc.logger().info("rankings: {}/{} stored, done", have, needed);
            return Output.builder().rankings(have).build();
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
