package seed.workflows.lineage;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import seed.annotation.cli.InfraOptions;
import seed.annotation.infra.Infra;
import seed.annotation.infra.InfraConfig;

/**
 * {@code seed lineage show|verify CHECKPOINT|RUN}: the auditor's command line. Finds PostgreSQL and Kafka like every
 * {@code seed annotate} command (flags, SEED_* variables, else the embedded services under the data dir); when
 * neither --data-dir nor SEED_DATA_DIR is given and the target is a path, the data dir of the run that holds it is
 * found by walking up from the path ({@link #DATA_DIR_CANDIDATES}), and a run id is looked up in the default work
 * folders ({@link #DEFAULT_WORK_DATA_DIRS}), so {@code seed lineage show runs/demo/...} works after a demo on embedded
 * defaults.
 */
@Command(name = "lineage", mixinStandardHelpOptions = true,
        description = "Trace a checkpoint or run to its data, annotations, settings, code and people; verify nothing changed.",
        subcommands = {LineageCommand.Show.class, LineageCommand.Verify.class, LineageCommand.Head.class})
public final class LineageCommand implements Runnable {

    /** Where a run id is looked up without --data-dir: the data dirs of `seed run`/`seed server` and `seed demo`. */
    static final List<String> DEFAULT_WORK_DATA_DIRS = List.of("runs/seed/annotation", "runs/demo/annotation");

    /** Folders, relative to an ancestor of the target, that hold a run's embedded services. */
    static final List<String> DATA_DIR_CANDIDATES = List.of("annotation", ".seed/annotation", "data");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Shared options and error handling: exit 2 for a bad target, 1 for a failed check. */
    abstract static class Base implements Callable<Integer> {
        @Mixin
        InfraOptions infra;

        @Option(names = "--key-dir", description = "the server's lineage key folder (default: outside the data folder,"
                + " ~/.config/seed/lineage-keys/<hash of the data folder's path>, or <data-dir>/lineage-keys for a key"
                + " made before that); its public key is trusted when no --trusted-key is pinned")
        Path keyDir;

        @Option(names = "--witness-topic", defaultValue = Witness.TOPIC, description = "default ${DEFAULT-VALUE}")
        String witnessTopic;

        @Parameters(index = "0", paramLabel = "CHECKPOINT|RUN", description = "a checkpoint (any recorded file or folder) or a Kestra execution id")
        String target;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        abstract int body(Infra infra, PrintWriter out) throws Exception;

        @Override
        public Integer call() throws Exception {
            PrintWriter err = spec.commandLine().getErr();
            InfraConfig config = config();
            if (config.jdbcUrl() == null && !Files.exists(config.dataDir().resolve("postgres").resolve("PG_VERSION"))) {
                // never start a fresh, empty embedded database just to report that it knows nothing
                err.println("seed lineage " + spec.name() + ": no Seed data in " + config.dataDir().toAbsolutePath()
                        + " (no embedded PostgreSQL there): pass --data-dir of the run (e.g. runs/demo/annotation)"
                        + " or --jdbc-url and --kafka-bootstrap of the server");
                err.flush();
                return 2;
            }
            try (Infra inf = Infra.start(config)) {
                return body(inf, spec.commandLine().getOut());
            } catch (LineageGraph.NotFound e) {
                err.println("seed lineage " + spec.name() + ": " + e.getMessage() + " (in the lineage of "
                        + (config.jdbcUrl() != null ? config.jdbcUrl() : config.dataDir().toAbsolutePath()) + ")");
                return 2;
            } catch (IllegalStateException e) {
                err.println("seed lineage " + spec.name() + ": " + e.getMessage());
                return 1;
            } finally {
                err.flush();
            }
        }

        Path keyDir(Infra inf) {
            return keyDir != null ? keyDir : Lineage.defaultKeyDir(inf.config().dataDir());
        }

        private InfraConfig config() {
            InfraConfig c = infra.config();
            boolean explicit = spec.commandLine().getParseResult().hasMatchedOption("--data-dir")
                    || System.getenv("SEED_DATA_DIR") != null;
            if (explicit || c.jdbcUrl() != null) {
                return c;
            }
            Optional<Path> found = Files.exists(Path.of(target)) ? discoverDataDir(Path.of(target))
                    : DEFAULT_WORK_DATA_DIRS.stream().map(Path::of)
                            .filter(d -> Files.exists(d.resolve("postgres").resolve("PG_VERSION"))).findFirst();
            return found.map(d -> withDataDir(c, d)).orElse(c);
        }
    }

    /** {@code c} with another data dir, through the environment form (stable however InfraConfig grows). */
    static InfraConfig withDataDir(InfraConfig c, Path dataDir) {
        java.util.Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.remove("SEED_JDBC_URL"); // only called when no external PostgreSQL is configured
        if (c.kafkaBootstrap() != null) {
            env.put("SEED_KAFKA_BOOTSTRAP", c.kafkaBootstrap());
        } else {
            env.remove("SEED_KAFKA_BOOTSTRAP");
        }
        env.put("SEED_TOPIC", c.topic());
        env.put("SEED_DATA_DIR", dataDir.toString());
        return InfraConfig.fromEnv(env, dataDir);
    }

    /** The embedded-services folder of the run holding {@code target}: the nearest ancestor with one. */
    static Optional<Path> discoverDataDir(Path target) {
        if (!Files.exists(target)) {
            return Optional.empty();
        }
        for (Path p = target.toAbsolutePath().normalize(); p != null; p = p.getParent()) {
            for (String rel : DATA_DIR_CANDIDATES) {
                Path d = p.resolve(rel);
                if (Files.exists(d.resolve("postgres").resolve("PG_VERSION"))) {
                    return Optional.of(d);
                }
            }
        }
        return Optional.empty();
    }

    /**
     * {@code seed lineage head}: the chain head ({@code seq:sha256}) and the signing keys' fingerprints, for an
     * auditor to keep somewhere this machine cannot write and check later with {@code verify --expect-head} and
     * {@code --trusted-key}. Takes no target.
     */
    @Command(name = "head", mixinStandardHelpOptions = true,
            description = "Print the ledger's head (seq:sha256) and signing key fingerprints to keep elsewhere.")
    static final class Head implements Callable<Integer> {
        @Mixin
        InfraOptions infra;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            PrintWriter err = spec.commandLine().getErr();
            InfraConfig config = infra.config();
            if (config.jdbcUrl() == null && !Files.exists(config.dataDir().resolve("postgres").resolve("PG_VERSION"))) {
                err.println("seed lineage head: no Seed data in " + config.dataDir().toAbsolutePath()
                        + ": pass --data-dir of the run or --jdbc-url of the server");
                err.flush();
                return 2;
            }
            try (Infra inf = Infra.start(config)) {
                LineageStore store = new LineageStore(inf.dataSource());
                PrintWriter out = spec.commandLine().getOut();
                out.println("head=" + Verifier.head(store.all()));
                for (String keyId : store.keys().keySet()) {
                    out.println("key=" + keyId);
                }
                out.flush();
                return 0;
            }
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Print the whole upstream tree of a checkpoint or run: data, settings, code, people, hashes.")
    static final class Show extends Base {
        @Option(names = "--json", description = "as JSON")
        boolean json;

        @Option(names = "--dot", description = "as Graphviz DOT (pipe into `dot -Tsvg`)")
        boolean dot;

        @Override
        int body(Infra inf, PrintWriter out) throws Exception {
            if (json && dot) {
                throw new LineageGraph.NotFound("choose one of --json and --dot");
            }
            LineageGraph g = LineageGraph.build(new LineageStore(inf.dataSource()).all(), target);
            if (json) {
                out.println(CanonicalJson.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(GraphFormats.json(g)));
            } else if (dot) {
                out.print(GraphFormats.dot(g));
            } else {
                out.print(GraphFormats.text(g));
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Re-hash every artifact up the tree and check the chain, the signatures and the Kafka witness;"
                    + " exit 1 naming the first mismatch.")
    static final class Verify extends Base {
        @Option(names = "--trusted-key", paramLabel = "KEY", description = "a signing key to trust (repeatable): its"
                + " 64-hex fingerprint, base64 public key or .pub file. Pinned keys replace the local key folder; a key"
                + " announced on the witness topic is never trusted for that")
        List<String> trustedKeys = new java.util.ArrayList<>();

        @Option(names = "--trusted-keys", paramLabel = "FILE", description = "a file of trusted key fingerprints, one a"
                + " line (keep it outside the data folder; default: SEED_LINEAGE_TRUSTED_KEYS)")
        Path trustedKeysFile;

        @Option(names = "--expect-head", paramLabel = "SEQ:SHA256", description = "a chain head kept elsewhere"
                + " (from `seed lineage head`): that record must still have that hash")
        String expectHead;

        @Override
        int body(Infra inf, PrintWriter out) {
            java.util.Set<String> pinned = new java.util.LinkedHashSet<>();
            trustedKeys.forEach(k -> pinned.add(SigningKey.fingerprint(k)));
            String envFile = System.getenv("SEED_LINEAGE_TRUSTED_KEYS");
            Path file = trustedKeysFile != null ? trustedKeysFile
                    : envFile != null && !envFile.isBlank() ? Path.of(envFile) : null;
            if (file != null) {
                pinned.addAll(SigningKey.fingerprintsIn(file));
            }
            Verifier.Trust trust = new Verifier.Trust(pinned, Optional.ofNullable(expectHead),
                    Verifier.witnessIndependent(inf.config().kafkaBootstrap() == null, inf.kafkaBootstrap(),
                            inf.jdbcUrl()));
            VerifyReport r = new Verifier(inf.dataSource(), Optional.ofNullable(inf.kafkaBootstrap()), witnessTopic,
                    Optional.of(keyDir(inf)), trust).verify(target);
            PrintWriter err = spec.commandLine().getErr();
            if (!r.ok()) {
                err.println("seed lineage verify: FAILED: " + r.first().message());
                for (Problem p : r.problems().subList(1, r.problems().size())) {
                    err.println("  also: " + p.message());
                }
                err.flush();
            }
            out.println("records_checked=" + r.recordsChecked());
            out.println("witness_head=" + r.witnessHead());
            out.println("task_runs=" + r.taskRuns());
            out.println("artifacts_checked=" + r.artifactsChecked());
            out.println("problems=" + r.problems().size());
            for (String note : r.notes()) {
                out.println("note: " + note);
            }
            out.println("witness_independent=" + trust.witnessIndependent());
            out.println("verified=" + r.ok());
            out.flush();
            return r.ok() ? 0 : 1;
        }
    }
}
