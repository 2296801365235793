package seed.workflows.tasks;

import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.annotation.Annotation;

/**
 * Seed's re-train condition: how many accepted rankings are durable in PostgreSQL beyond the newest snapshot's
 * watermark. A schedule runs it; the flow goes on only when there are enough.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Count stored rankings that no preference snapshot has taken yet (a run's snapshot takes its own items' rankings; an ALL snapshot takes every one).")
@Plugin(examples = @Example(title = "Gate a re-train", full = true, code = """
        id: check
        namespace: seed
        tasks:
          - id: check
            type: seed.workflows.tasks.NewRankings
            minNew: 200
        """))
public class NewRankings extends AnnotationTask<NewRankings.Output> {

    @Schema(title = "Rankings needed to report enough=true")
    @NotNull
    private Property<Integer> minNew;

    @Override
    protected Output execute(RunContext rc) throws Exception {
        int needed = required(rc, minNew, "minNew", Integer.class);
        try (Annotation annotation = connect(rc)) {
            long fresh = annotation.snapshots().rankingsNotYetSnapshotted();
            rc.logger().info("{} rankings no snapshot has taken yet ({} needed)", fresh, needed);
            return Output.builder().newRankings(fresh).enough(fresh >= needed).build();
        }
    }

    /** The count and the verdict. */
    @lombok.Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "Rankings no snapshot has taken yet")
        private final long newRankings;
        @Schema(title = "At least minNew of them")
        private final boolean enough;
    }
}
