package seed.workflows.tasks;

import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.annotation.Annotation;
import seed.annotation.snapshot.SnapshotInfo;
import seed.annotation.stats.Agreement;
import seed.stages.checkpoint.Hashes;
import seed.workflows.store.ArtifactStore;

/**
 * Freezes every accepted ranking stored so far into an immutable snapshot (a database row the database refuses to
 * change, and a K-wise JSONL file with its SHA-256): the reward model trains on exactly that file.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Snapshot the stored rankings for reward-model training.")
@Plugin(examples = @Example(title = "Snapshot", full = true, code = """
        id: snapshot
        namespace: seed
        tasks:
          - id: snapshot
            type: seed.workflows.tasks.SnapshotPreferences
        """))
public class SnapshotPreferences extends AnnotationTask<SnapshotPreferences.Output> {

    @Override
    protected Output execute(RunContext rc) throws Exception {
        try (Annotation annotation = connect(rc)) {
            SnapshotInfo s = annotation.snapshot();
            if (s.count() == 0) {
                throw new IllegalStateException("no rankings to snapshot: the annotation store has no accepted ranking");
            }
            Agreement.Report stats = annotation.stats();
            // the store keeps its own copy, named by content: the snapshot folder may be on the database host
            ArtifactStore store = ArtifactStore.at(Path.of(required(rc, this.store, "store")));
            Path dir = Files.createDirectories(store.root().resolve("snapshots"));
            Path copy = dir.resolve("snapshot-" + s.sha256().substring(0, 24) + ".jsonl");
            if (!Files.exists(copy)) {
                Path tmp = dir.resolve(".tmp-" + s.id());
                Files.copy(s.path(), tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, copy, StandardCopyOption.ATOMIC_MOVE);
            }
            String sha = Hashes.sha256(copy);
            if (!sha.equals(s.sha256())) {
                throw new IllegalStateException("snapshot " + s.id() + " copy hashes " + sha + ", the database says "
                        + s.sha256());
            }
            rc.logger().info("snapshot {}: {} rankings, sha256 {}, mean Kendall's W {}", s.id(), s.count(), sha,
                    stats.meanKendallW());
            return Output.builder().snapshot(copy.toString()).sha256(sha).snapshotId(s.id()).rankings(s.count())
                    .meanKendallW(stats.meanKendallW()).build();
        }
    }

    /** The snapshot file, its id in PostgreSQL, size and annotator agreement. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "K-wise JSONL of the snapshot")
        private final String snapshot;
        @Schema(title = "SHA-256 of the file (equals the database's record)")
        private final String sha256;
        @Schema(title = "Snapshot id in PostgreSQL (its members are the ranking events)")
        private final long snapshotId;
        @Schema(title = "Rankings in it")
        private final int rankings;
        @Schema(title = "Mean Kendall's W over items ranked by several annotators")
        private final Double meanKendallW;
    }
}
