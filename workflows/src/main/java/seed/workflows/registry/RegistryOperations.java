package seed.workflows.registry;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import seed.annotation.core.Annotator;
import seed.annotation.infra.Infra;
import seed.workflows.lineage.ArtifactRef;
import seed.workflows.lineage.Lineage;
import seed.workflows.lineage.TaskRunRecord;

/**
 * What {@code seed models/promote/rollback} do, in one place for both ways of reaching the registry: the commands in
 * their own process (no server owns the data folder) and the operator API of the {@code seed server} that does
 * ({@code /api/models}). Callers check roles; every change here is a history row and a signed lineage record.
 */
public final class RegistryOperations {

    private final Infra infra;
    private final ModelRegistry registry;
    private final boolean hosted;

    private RegistryOperations(Infra infra, boolean hosted) {
        this.infra = infra;
        this.registry = new ModelRegistry(infra.dataSource());
        this.hosted = hosted;
    }

    /** For a command in its own process: each change opens (and closes) its own lineage recorder. */
    public RegistryOperations(Infra infra) {
        this(infra, false);
    }

    /** For the server that owns {@code infra}: changes are recorded by its lineage recorder ({@link Lineage#local}). */
    public static RegistryOperations hosted(Infra infra) {
        return new RegistryOperations(infra, true);
    }

    /** What {@code seed models} shows: every alias now, and the history (of one alias or all), newest first. */
    public record Listing(List<ModelRegistry.Entry> aliases, List<ModelRegistry.Entry> history) {
    }

    /** A rollback's new row and the row it went back from. */
    public record Rolledback(ModelRegistry.Entry entry, ModelRegistry.Entry from) {
    }

    public Listing list(String alias, int limit) {
        return new Listing(registry.aliases(), registry.history(alias == null ? null : ModelRegistry.checkAlias(alias),
                Math.max(1, limit)));
    }

    /** Points {@code alias} at the checkpoint in {@code model} or the known one of {@code hash} (exactly one given). */
    public ModelRegistry.Entry promote(Annotator who, String alias, Path model, String hash, String reason) {
        ModelRegistry.checkAlias(alias);
        if ((model == null) == (hash == null)) {
            throw new IllegalArgumentException("give exactly one of --model DIR and --hash SHA256");
        }
        if (reason == null || reason.isBlank()) {
            throw new IllegalArgumentException("a promotion needs a reason (who reads the history asks why)");
        }
        ArtifactRef ref;
        if (model != null) {
            Path folder;
            try {
                folder = seed.stages.checkpoint.Checkpoints.modelFolder(model); // a checkpoint, not any folder
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("--model " + model + ": " + e.getMessage());
            }
            ref = ArtifactRef.of("model", folder, "checkpoint");
        } else {
            ModelRegistry.Entry known = known(hash);
            ref = ArtifactRef.of("model", Path.of(known.path()), "checkpoint");
            if (!ref.sha256().equals(known.sha256())) {
                throw new IllegalStateException("checkpoint " + known.sha256() + " at " + known.path()
                        + " now hashes to " + ref.sha256() + ": it changed on disk since it was registered");
            }
        }
        return change(who, "promote", ref, Map.of("alias", alias, "reason", reason),
                run -> registry.append(new ModelRegistry.Change(alias, ModelRegistry.Action.PROMOTE, ref.sha256(),
                        ref.path(), who.name(), reason, Map.of(), null, run.executionId(), run.taskRunId())));
    }

    /** Points {@code alias} back at the checkpoint it named before its newest change. */
    public Rolledback rollback(Annotator who, String alias, String reason) {
        ModelRegistry.Entry now = registry.current(ModelRegistry.checkAlias(alias)).orElseThrow(() ->
                new IllegalArgumentException("alias " + alias + " names nothing: nothing to roll back"));
        if (now.previousSha256() == null) {
            throw new IllegalArgumentException("alias " + alias + " has named only " + now.modelId()
                    + ": there is no earlier checkpoint to go back to");
        }
        String why = reason == null || reason.isBlank() ? "rollback" : reason;
        ModelRegistry.Entry before = known(now.previousSha256());
        ArtifactRef ref = ArtifactRef.of("model", Path.of(before.path()), "checkpoint");
        if (!ref.sha256().equals(before.sha256())) {
            throw new IllegalStateException("the previous checkpoint " + before.sha256() + " at " + before.path()
                    + " now hashes to " + ref.sha256() + ": it changed on disk; promote a checkpoint explicitly");
        }
        ModelRegistry.Entry e = change(who, "rollback", ref, Map.of("alias", alias, "reason", why,
                "from_sha256", now.sha256()), run -> registry.append(new ModelRegistry.Change(alias,
                        ModelRegistry.Action.ROLLBACK, ref.sha256(), ref.path(), who.name(), why,
                        before.metrics(), null, run.executionId(), run.taskRunId())));
        return new Rolledback(e, now);
    }

    /** A checkpoint the registry has named, by full SHA-256 or a prefix of at least 12 hex digits. */
    ModelRegistry.Entry known(String hash) {
        String h = hash.strip().toLowerCase(java.util.Locale.ROOT);
        if (!h.matches("[0-9a-f]{12,64}")) {
            throw new IllegalArgumentException("--hash must be 12 to 64 hex digits, got " + hash);
        }
        if (h.length() == 64) {
            return registry.latestOf(h).orElseThrow(() -> new IllegalArgumentException("the registry has never named"
                    + " checkpoint " + h + "; promote it with --model DIR"));
        }
        List<ModelRegistry.Entry> matches = registry.history(null, 10_000).stream()
                .filter(e -> e.sha256().startsWith(h)).map(ModelRegistry.Entry::sha256).distinct()
                .map(s -> registry.latestOf(s).orElseThrow()).toList();
        if (matches.size() != 1) {
            throw new IllegalArgumentException(matches.isEmpty() ? "the registry has never named a checkpoint "
                    + h + "..." : "hash prefix " + h + " is ambiguous; give more digits");
        }
        return matches.get(0);
    }

    /**
     * Records one operator change as a lineage task run (stage {@code registry}; start, then end with the history row)
     * signed with the server's key and witnessed on Kafka, around {@code append}. Inside {@code seed server} the
     * host's own recorder is used (and left open); a command on its own opens one for the change.
     */
    private ModelRegistry.Entry change(Annotator who, String verb, ArtifactRef model, Map<String, Object> settings,
            java.util.function.Function<TaskRunRecord, ModelRegistry.Entry> append) {
        Optional<Lineage> shared = hosted ? Lineage.local() : Optional.empty();
        Lineage lineage = shared.orElseGet(() -> Lineage.open(infra));
        try {
            TaskRunRecord start = TaskRunRecord.started("cli-" + UUID.randomUUID(), null, "seed", "seed.cli", 0, verb,
                    UUID.randomUUID().toString(), "registry", who.name(), 1, "cpu", settings, List.of(model), null);
            lineage.started(start);
            ModelRegistry.Entry e;
            try {
                e = append.apply(start);
            } catch (RuntimeException failure) {
                lineage.finished(start.finish(TaskRunRecord.Status.FAILED, List.of(),
                        Map.of("error", String.valueOf(failure))));
                throw failure;
            }
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("history_seq", e.seq());
            metrics.put("alias", e.alias());
            metrics.put("sha256", e.sha256());
            Optional.ofNullable(e.previousSha256()).ifPresent(p -> metrics.put("previous_sha256", p));
            lineage.finished(start.finish(TaskRunRecord.Status.SUCCESS, List.of(), metrics));
            return e;
        } finally {
            if (shared.isEmpty()) {
                lineage.close();
            }
        }
    }
}
