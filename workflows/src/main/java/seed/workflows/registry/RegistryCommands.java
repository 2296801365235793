package seed.workflows.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import seed.annotation.cli.InfraOptions;
import seed.annotation.core.Annotator;
import seed.annotation.core.Catalog;
import seed.annotation.infra.Infra;
import seed.workflows.cli.OperatorClient;

/**
 * {@code seed models}, {@code seed promote}, {@code seed rollback}: the registry for people. Listing is for operators
 * and auditors, changes for operators only (the roles of the operator API and the auditor page), each person named by
 * their token. Every change is a history row and a signed, witnessed lineage record (stage {@code registry}). When a
 * {@code seed server} owns the data folder (or {@code --server URL} is given) they go through its operator API
 * ({@code /api/models}), since its PostgreSQL and Kafka cannot be started twice; otherwise they open the registry.
 */
public final class RegistryCommands {

    private RegistryCommands() {
    }

    /** Connection, identity and error handling shared by the three commands. */
    abstract static class Base implements Callable<Integer> {
        static final ObjectMapper JSON = new ObjectMapper();

        @Mixin
        InfraOptions infra;

        @Option(names = "--token", defaultValue = "${env:SEED_TOKEN}", description = "your personal token (env"
                + " SEED_TOKEN; default: the local operator token beside the data dir, work/operator.token)")
        String token;

        @Option(names = "--server", defaultValue = "${env:SEED_SERVER}", description = "URL of the seed server whose"
                + " registry to use (env SEED_SERVER; default: the server owning --work, if one runs)")
        String server;

        @Option(names = "--work", description = "work folder of a seed server (its server.json says where its API"
                + " is; default: the data dir's parent). With no server running, the registry is opened directly.")
        Path work;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        /** The roles that may run this command. */
        abstract List<String> roles();

        /** The command on the registry itself (no server owns the data folder). */
        abstract int direct(RegistryOperations ops, Annotator who, PrintWriter out) throws Exception;

        /** The command through the operator API of the server that owns the data folder (or --server). */
        abstract int remote(OperatorClient server, PrintWriter out) throws Exception;

        @Override
        public Integer call() throws Exception {
            PrintWriter err = spec.commandLine().getErr();
            try {
                Path owner = work != null ? work : infra.config().dataDir().toAbsolutePath().normalize().getParent();
                Optional<OperatorClient> live = OperatorClient.live(server, token, owner);
                if (live.isPresent()) {
                    try (OperatorClient c = live.get()) {
                        return remote(c, spec.commandLine().getOut());
                    }
                }
                try (Infra inf = Infra.start(infra.config())) {
                    Annotator who = identify(inf);
                    return direct(new RegistryOperations(inf), who, spec.commandLine().getOut());
                }
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
        int direct(RegistryOperations ops, Annotator who, PrintWriter out) {
            return print(ops.list(alias, limit), out);
        }

        @Override
        int remote(OperatorClient server, PrintWriter out) throws Exception {
            String query = "?limit=" + Math.max(1, limit) + (alias == null ? "" : "&alias="
                    + java.net.URLEncoder.encode(ModelRegistry.checkAlias(alias), java.nio.charset.StandardCharsets.UTF_8));
            return print(RegistryJson.listing(server.get("/api/models" + query)), out);
        }

        private static int print(RegistryOperations.Listing listing, PrintWriter out) {
            List<ModelRegistry.Entry> aliases = listing.aliases();
            out.println("aliases:" + (aliases.isEmpty() ? " none (seed promote, or a flow's Promote task, sets them)"
                    : ""));
            for (ModelRegistry.Entry e : aliases) {
                out.printf("  %-12s %s  %s  (%s by %s at %s)%n", e.alias(), e.modelId(), e.path(),
                        e.action().name().toLowerCase(java.util.Locale.ROOT), e.changedBy(), e.changedAt());
            }
            out.println("history (newest first):");
            for (ModelRegistry.Entry e : listing.history()) {
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
        int direct(RegistryOperations ops, Annotator who, PrintWriter out) {
            return print(ops.promote(who, alias, model, hash, reason), out);
        }

        @Override
        int remote(OperatorClient server, PrintWriter out) throws Exception {
            ModelRegistry.checkAlias(alias);
            if ((model == null) == (hash == null)) {
                throw new IllegalArgumentException("give exactly one of --model DIR and --hash SHA256");
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("alias", alias);
            // the server hashes the folder: send it absolute, as this command's working directory is not the server's
            body.put(model != null ? "model" : "hash", model != null ? model.toAbsolutePath().normalize().toString()
                    : hash);
            body.put("reason", reason);
            return print(RegistryJson.entry(server.post("/api/models/promote", JSON.writeValueAsString(body))
                    .path("entry")), out);
        }

        private static int print(ModelRegistry.Entry e, PrintWriter out) {
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
        int direct(RegistryOperations ops, Annotator who, PrintWriter out) {
            RegistryOperations.Rolledback r = ops.rollback(who, alias, reason);
            return print(r.entry(), r.from(), out);
        }

        @Override
        int remote(OperatorClient server, PrintWriter out) throws Exception {
            com.fasterxml.jackson.databind.JsonNode r = server.post("/api/models/rollback",
                    JSON.writeValueAsString(Map.of("alias", ModelRegistry.checkAlias(alias), "reason", reason)));
            return print(RegistryJson.entry(r.path("entry")), RegistryJson.entry(r.path("rolled_back_from")), out);
        }

        private static int print(ModelRegistry.Entry e, ModelRegistry.Entry from, PrintWriter out) {
            out.println("alias=" + e.alias());
            out.println("model=" + e.modelId());
            out.println("rolled_back_from=" + from.modelId());
            out.println("history_seq=" + e.seq());
            return 0;
        }
    }
}
