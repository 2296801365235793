package seed.workflows.registry;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import seed.annotation.cli.InfraOptions;
import seed.annotation.core.Annotator;
import seed.annotation.core.Catalog;
import seed.annotation.infra.Infra;
import seed.workflows.lineage.ArtifactRef;
import seed.workflows.lineage.Lineage;
import seed.workflows.lineage.TaskRunRecord;

/**
 * {@code seed models}, {@code seed promote}, {@code seed rollback}: the registry for people. Listing is for operators
 * and auditors, changes for operators only (the roles of the operator API and the auditor page), each person named by
 * their token. Every change is a history row and a signed, witnessed lineage record (stage {@code registry}).
 */
public final class RegistryCommands {

    private RegistryCommands() {
    }

    /** Connection, identity and error handling shared by the three commands. */
    abstract static class Base implements Callable<Integer> {
        @Mixin
        InfraOptions infra;

        @Option(names = "--token", defaultValue = "${env:SEED_TOKEN}", description = "your personal token (env"
                + " SEED_TOKEN; default: the local operator token beside the data dir, work/operator.token)")
        String token;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        /** The roles that may run this command. */
        abstract List<String> roles();

        abstract int body(Infra infra, Annotator who, ModelRegistry registry, PrintWriter out) throws Exception;

        @Override
        public Integer call() throws Exception {
            PrintWriter err = spec.commandLine().getErr();
            try (Infra inf = Infra.start(infra.config())) {
                Annotator who = identify(inf);
                return body(inf, who, new ModelRegistry(inf.dataSource()), spec.commandLine().getOut());
            } catch (IllegalArgumentException | IllegalStateException | SecurityException e) {
                err.println("seed " + spec.name() + ": " + e.getMessage());
                return 2;
            } finally {
                err.flush();
                spec.commandLine().getOut().flush();
            }
        }

        private Annotator identify(Infra inf) throws java.io.IOException {
            String t = token;
            Path local = inf.config().dataDir().toAbsolutePath().normalize().getParent().resolve("operator.token");
            if ((t == null || t.isBlank()) && Files.exists(local)) {
                t = Files.readString(local).strip();
            }
            if (t == null || t.isBlank()) {
                throw new SecurityException("no token: pass --token or set SEED_TOKEN (seed people add gives one)");
            }
            Annotator a = new Catalog(inf.dataSource()).authenticate(t).orElseThrow(() -> new SecurityException(
                    "the token is not known to this Seed (" + inf.config().dataDir() + ")"));
            if (!roles().contains(a.role())) {
                throw new SecurityException("role '" + a.role() + "' may not " + spec.name() + " (" + String.join(
                        " and ", roles()) + " only)");
            }
            return a;
        }
    }

    /** {@code seed models}: what each alias names, and the history. */
    @Command(name = "models", mixinStandardHelpOptions = true,
            description = "List the model registry's aliases (production, candidate, ...) and their history.")
    public static final class Models extends Base {
        @Option(names = "--alias", description = "Only this alias's history.")
        String alias;

        @Option(names = "--limit", description = "History rows at most (default: ${DEFAULT-VALUE}).")
        int limit = 20;

        @Override
        List<String> roles() {
            return List.of("operator", "auditor");
        }

        @Override
        int body(Infra inf, Annotator who, ModelRegistry registry, PrintWriter out) {
            List<ModelRegistry.Entry> aliases = registry.aliases();
            out.println("aliases:" + (aliases.isEmpty() ? " none (seed promote, or a flow's Promote task, sets them)"
                    : ""));
            for (ModelRegistry.Entry e : aliases) {
                out.printf("  %-12s %s  %s  (%s by %s at %s)%n", e.alias(), e.modelId(), e.path(),
                        e.action().name().toLowerCase(java.util.Locale.ROOT), e.changedBy(), e.changedAt());
            }
            out.println("history (newest first):");
            for (ModelRegistry.Entry e : registry.history(alias == null ? null : ModelRegistry.checkAlias(alias),
                    Math.max(1, limit))) {
                out.printf("  #%d %s %-10s %-8s %s by %s: %s%s%s%n", e.seq(), e.changedAt(), e.alias(),
                        e.action().name().toLowerCase(java.util.Locale.ROOT), e.sha256().substring(0, 12),
                        e.changedBy(), e.reason(), e.metrics().isEmpty() ? "" : " metrics=" + e.metrics(),
                        e.gates() == null ? "" : " gates_passed=" + e.gates().get("passed"));
            }
            return 0;
        }
    }

    /** What promote and rollback share: the alias they change (production by default), operators only. */
    abstract static class OperatorChange extends Base {
        @Option(names = "--alias", defaultValue = ModelRegistry.PRODUCTION, description = "default ${DEFAULT-VALUE}")
        String alias;

        @Override
        List<String> roles() {
            return List.of("operator");
        }
    }

    /** {@code seed promote}: an operator points an alias at a checkpoint, without gates, with a reason. */
    @Command(name = "promote", mixinStandardHelpOptions = true,
            description = "Point a registry alias at a checkpoint (operators). Recorded with who and why.")
    public static final class Promote extends OperatorChange {

        @Option(names = "--model", description = "The checkpoint folder (hashed now).")
        Path model;

        @Option(names = "--hash", description = "A checkpoint the registry already knows, by SHA-256 (or a prefix of"
                + " at least 12 hex digits).")
        String hash;

        @Option(names = "--reason", required = true, description = "Why (kept in the history).")
        String reason;

        @Override
        int body(Infra inf, Annotator who, ModelRegistry registry, PrintWriter out) {
            ModelRegistry.checkAlias(alias);
            if ((model == null) == (hash == null)) {
                throw new IllegalArgumentException("give exactly one of --model DIR and --hash SHA256");
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
                ModelRegistry.Entry known = known(registry, hash);
                ref = ArtifactRef.of("model", Path.of(known.path()), "checkpoint");
                if (!ref.sha256().equals(known.sha256())) {
                    throw new IllegalStateException("checkpoint " + known.sha256() + " at " + known.path()
                            + " now hashes to " + ref.sha256() + ": it changed on disk since it was registered");
                }
            }
            ModelRegistry.Entry e = change(inf, who, "promote", ref, Map.of("alias", alias, "reason", reason),
                    run -> registry.append(new ModelRegistry.Change(alias, ModelRegistry.Action.PROMOTE, ref.sha256(),
                            ref.path(), who.name(), reason, Map.of(), null, run.executionId(), run.taskRunId())));
            out.println("alias=" + e.alias());
            out.println("model=" + e.modelId());
            out.println("sha256=" + e.sha256());
            out.println("history_seq=" + e.seq());
            return 0;
        }
    }

    /** {@code seed rollback}: the alias goes back to the checkpoint it named before its newest change. */
    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = "Point a registry alias back at the checkpoint it named before (operators).")
    public static final class Rollback extends OperatorChange {

        @Option(names = "--reason", defaultValue = "rollback", description = "Why (default: ${DEFAULT-VALUE}).")
        String reason;

        @Override
        int body(Infra inf, Annotator who, ModelRegistry registry, PrintWriter out) {
            ModelRegistry.Entry now = registry.current(ModelRegistry.checkAlias(alias)).orElseThrow(() ->
                    new IllegalArgumentException("alias " + alias + " names nothing: nothing to roll back"));
            if (now.previousSha256() == null) {
                throw new IllegalArgumentException("alias " + alias + " has named only " + now.modelId()
                        + ": there is no earlier checkpoint to go back to");
            }
            ModelRegistry.Entry before = known(registry, now.previousSha256());
            ArtifactRef ref = ArtifactRef.of("model", Path.of(before.path()), "checkpoint");
            if (!ref.sha256().equals(before.sha256())) {
                throw new IllegalStateException("the previous checkpoint " + before.sha256() + " at " + before.path()
                        + " now hashes to " + ref.sha256() + ": it changed on disk; promote a checkpoint explicitly");
            }
            ModelRegistry.Entry e = change(inf, who, "rollback", ref, Map.of("alias", alias, "reason", reason,
                    "from_sha256", now.sha256()), run -> registry.append(new ModelRegistry.Change(alias,
                            ModelRegistry.Action.ROLLBACK, ref.sha256(), ref.path(), who.name(), reason,
                            before.metrics(), null, run.executionId(), run.taskRunId())));
            out.println("alias=" + e.alias());
            out.println("model=" + e.modelId());
            out.println("rolled_back_from=" + now.modelId());
            out.println("history_seq=" + e.seq());
            return 0;
        }
    }

    /** A checkpoint the registry has named, by full SHA-256 or a prefix of at least 12 hex digits. */
    static ModelRegistry.Entry known(ModelRegistry registry, String hash) {
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
     * signed with the server's key and witnessed on Kafka, around {@code append}.
     */
    static ModelRegistry.Entry change(Infra inf, Annotator who, String verb, ArtifactRef model,
            Map<String, Object> settings, java.util.function.Function<TaskRunRecord, ModelRegistry.Entry> append) {
        try (Lineage lineage = Lineage.open(inf)) {
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
        }
    }
}
