package seed.workflows.tasks;

import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import jakarta.validation.constraints.NotNull;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.annotation.Annotation;
import seed.annotation.snapshot.SnapshotInfo;
import seed.annotation.snapshot.SnapshotScope;
import seed.annotation.stats.Agreement;
import seed.stages.checkpoint.Hashes;
import seed.workflows.lineage.KestraLineage;
import seed.workflows.store.ArtifactStore;

/**
 * Freezes the accepted rankings of a run's items (or, asked for by name, of every item) stored so far into an
 * immutable snapshot (a database row the database refuses to change, and a K-wise JSONL file with its SHA-256): the
 * reward model trains on exactly that file. Several runs share one annotation database, so the default scope is the
 * items the run loaded ({@code itemIds}, from LoadAnnotationItems); a snapshot without them is refused.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Snapshot the stored rankings of a run's items for reward-model training.")
@Plugin(examples = {
        @Example(title = "The rankings of the items this run loaded", full = true, code = """
                id: snapshot
                namespace: seed
                tasks:
                  - id: snapshot
                    type: seed.workflows.tasks.SnapshotPreferences
                    itemIds: "{{ outputs.load.itemIds }}"
                """),
        @Example(title = "Every ranking in the database, whatever run loaded its item", full = true, code = """
                id: snapshot-all
                namespace: seed
                tasks:
                  - id: snapshot
                    type: seed.workflows.tasks.SnapshotPreferences
                    scope: ALL
                """)})
public class SnapshotPreferences extends AnnotationTask<SnapshotPreferences.Output> {

    /** Which rankings a snapshot holds. */
    public enum Scope {
        /** the rankings of {@code itemIds} (a run's items, or a set the operator chose) */
        ITEMS,
        /** every accepted ranking in the database, whatever run loaded its item */
        ALL
    }

    @Schema(title = "Which rankings: ITEMS (those of itemIds) or ALL (every ranking in the database)")
    @NotNull
    @Builder.Default
    private Property<Scope> scope = Property.ofValue(Scope.ITEMS);

    @Schema(title = "Items whose rankings the snapshot holds, e.g. LoadAnnotationItems' itemIds (scope ITEMS only)")
    private Property<List<Long>> itemIds;

    @Override
    protected Output execute(RunContext rc) throws Exception {
        SnapshotScope chosen = scope(rc);
        // lineage (issue 8): the snapshot's record names its id, so it links to its ranking events and annotators;
        // issue 17: and the items it covers (scope, count and SHA-256 of the id list)
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("scope", chosen.name());
        if (chosen instanceof SnapshotScope.Items items) {
            settings.put("items", items.ids().size());
            settings.put("item_ids_sha256", SnapshotScope.idsSha256(items.ids()));
        }
        KestraLineage.Recording lineage = KestraLineage.begin(rc, "snapshot", settings, Map.of());
        try {
            Output out = snapshot(rc, chosen);
            lineage.succeeded(Map.of("snapshot", new ArtifactStore.Stored(out.getSnapshot(), out.getSha256(),
                    Files.size(Path.of(out.getSnapshot())))), Map.of("rankings", out.getRankings(), "items",
                    out.getItems(), "item_ids_sha256", out.getItemIdsSha256()), out.getSnapshotId());
            return out;
        } catch (Exception | Error e) {
            lineage.failed(e);
            throw e;
        }
    }

    /** The rendered scope: ITEMS needs item ids, ALL refuses them (a set that would be ignored is a mistake). */
    private SnapshotScope scope(RunContext rc) throws Exception {
        Scope s = required(rc, scope, "scope", Scope.class);
        List<Long> ids = longs(rc, itemIds, "itemIds");
        if (s == Scope.ALL) {
            if (!ids.isEmpty()) {
                throw new IllegalArgumentException("scope ALL snapshots every ranking: remove itemIds, or use scope ITEMS");
            }
            return SnapshotScope.all();
        }
        if (ids.isEmpty()) {
            throw new IllegalArgumentException("input 'itemIds' is required with scope ITEMS (the run's items, e.g. "
                    + "\"{{ outputs.load.itemIds }}\"); scope ALL snapshots every ranking in the database");
        }
        return SnapshotScope.items(ids);
    }

    private Output snapshot(RunContext rc, SnapshotScope chosen) throws Exception {
        try (Annotation annotation = connect(rc)) {
            SnapshotInfo s = annotation.snapshot(chosen);
            Agreement.Report stats = annotation.stats(chosen);
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
            rc.logger().info("snapshot {}: {} rankings of {} items (scope {}, item ids sha256 {}), sha256 {}, mean "
                    + "Kendall's W {}", s.id(), s.count(), s.itemIds().size(), s.scope(), s.itemIdsSha256(), sha,
                    stats.meanKendallW());
            return Output.builder().snapshot(copy.toString()).sha256(sha).snapshotId(s.id()).rankings(s.count())
                    .meanKendallW(stats.meanKendallW()).scope(s.scope()).items(s.itemIds().size())
                    .itemIdsSha256(s.itemIdsSha256()).build();
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
        @Schema(title = "Mean Kendall's W over the snapshot's items ranked by several annotators")
        private final Double meanKendallW;
        @Schema(title = "ITEMS or ALL")
        private final String scope;
        @Schema(title = "Items it covers (ITEMS: the set asked for; ALL: the items its rankings rank)")
        private final int items;
        @Schema(title = "SHA-256 of the covered item ids, sorted and joined by ','")
        private final String itemIdsSha256;
    }
}
