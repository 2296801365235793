package seed.workflows.tasks;

import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.annotation.Annotation;
import seed.annotation.core.Catalog;

/** Turns a candidates file into annotation items that annotators are assigned to. */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Load candidate responses as annotation items.",
        description = "Idempotent: the same candidates file (by SHA-256) already loaded in this store is not loaded twice.")
@Plugin(examples = @Example(title = "Two annotators per item", full = true, code = """
        id: load
        namespace: seed
        tasks:
          - id: load
            type: seed.workflows.tasks.LoadAnnotationItems
            candidates: "{{ outputs.candidates.candidates }}"
            annotatorsPerItem: 2
        """))
public class LoadAnnotationItems extends AnnotationTask<LoadAnnotationItems.Output> {

    @Schema(title = "Candidates JSONL (from GenerateCandidates)")
    @NotNull
    private Property<String> candidates;

    @Schema(title = "How many annotators rank each item")
    @NotNull
    @Builder.Default
    private Property<Integer> annotatorsPerItem = Property.ofValue(2);

    @Override
    protected Output execute(RunContext rc) throws Exception {
        Path file = existing(rc, candidates, "candidates");
        int perItem = required(rc, annotatorsPerItem, "annotatorsPerItem", Integer.class);
        String jdbc = required(rc, jdbcUrl, "jdbcUrl");
        try (Annotation annotation = connect(rc)) {
            // the store's address includes the database, so the same file loaded into another database loads again
            Result r = stage(rc, "load-items", Map.of("annotators_per_item", perItem, "database", jdbc),
                    Map.of("candidates", file), (dir, console) -> {
                        Catalog.LoadResult loaded = annotation.loadCandidates(file, perItem);
                        console.printf("loaded %d items from %s%n", loaded.itemIds().size(), file);
                        // issue 18: the items as an artifact, so lineage draws candidates -> items -> snapshot
                        Map<String, Object> manifest = new java.util.LinkedHashMap<>();
                        manifest.put("candidates", file.toAbsolutePath().normalize().toString());
                        manifest.put("candidates_sha256", seed.stages.checkpoint.Hashes.sha256(file));
                        manifest.put("annotators_per_item", perItem);
                        manifest.put("item_ids", loaded.itemIds());
                        Path items = dir.resolve("items.json");
                        seed.stages.checkpoint.Checkpoints.writeJson(items, manifest);
                        return new StageOutcome(Map.of("items", items), Map.of("item_ids", loaded.itemIds()));
                    });
            @SuppressWarnings("unchecked")
            List<Number> ids = (List<Number>) r.metric("item_ids");
            List<Long> itemIds = ids.stream().map(Number::longValue).toList();
            if (r.reused() && !annotation.itemsExist(itemIds)) {
                throw new IllegalStateException("the items recorded for " + file + " are not in this database any "
                        + "more; delete " + r.done().key() + " from the store to load them again");
            }
            return Output.builder().itemIds(itemIds).items(itemIds.size()).reused(r.reused()).build();
        }
    }

    /** The items created (their ids feed AwaitRankings and SnapshotPreferences: a run's wait and snapshot cover them). */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "Ids of the items")
        private final List<Long> itemIds;
        @Schema(title = "How many items")
        private final int items;
        @Schema(title = "True when this file had been loaded before")
        private final boolean reused;
    }
}
