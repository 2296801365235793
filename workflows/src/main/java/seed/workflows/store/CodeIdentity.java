package seed.workflows.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * What code and runtime would make a stage's artifact, as part of its store address: without it, an upgraded Seed, DJL
 * or libtorch, or another device or precision, silently reused an artifact made by other code. The code is the
 * SHA-256 of the Seed modules the stage runs (each module: the content of each of its classes and resources, in name
 * order, so a rebuild of the same sources has the same identity and a documentation-only commit does not invalidate the
 * store), plus the DJL and libtorch versions the build packages, the device the worker declares ({@code -Dseed.device},
 * as lineage records it) and the precision ({@code -Dseed.precision}, default fp32).
 *
 * <p>Per stage ({@link #STAGE_MODULES}): pretrain, SFT, RL, candidates and curation run {@code stages}; the reward
 * model, DPO and the evaluation run {@code reward-model} too; loading annotation items runs {@code annotation}. So an
 * edit to the reward model re-addresses the stages that run it and keeps pretraining's and SFT's artifacts. The
 * {@code workflows} module (the tasks only render settings, which are in the address themselves, and call these
 * libraries) is in no stage's identity; a stage not listed depends on every module.
 */
public final class CodeIdentity {

    /** Each Seed module whose code produces artifacts: a class in it, and the package its classes live under. */
    private record Module(String marker, String packagePath) {
    }

    private static final Map<String, Module> MODULES = new java.util.TreeMap<>(Map.of(
            "stages", new Module("seed.stages.model.Gpt", "seed/stages/"),
            "reward-model", new Module("seed.reward.RewardModel", "seed/reward/"),
            "annotation", new Module("seed.annotation.Annotation", "seed/annotation/"),
            "workflows", new Module("seed.workflows.store.ArtifactStore", "seed/workflows/")));

    /** The modules whose code each stage runs (the stage names {@code SeedTask.stage} is called with). */
    static final Map<String, List<String>> STAGE_MODULES = Map.of(
            "pretrain", List.of("stages"), "sft", List.of("stages"),
            // RL scores its rollouts with the reward model's code (RewardModel implements stages' RewardFunction)
            "rlhf", List.of("stages", "reward-model"),
            "candidates", List.of("stages"), "curate", List.of("stages"),
            "reward", List.of("stages", "reward-model"), "dpo", List.of("stages", "reward-model"),
            "evaluate", List.of("stages", "reward-model"), "load-items", List.of("annotation"));

    private static volatile Map<String, String> moduleHashes;

    private CodeIdentity() {
    }

    /** The identity of the code {@code stage} runs and of this JVM's runtime (module hashes computed once). */
    public static Map<String, Object> forStage(String stage) {
        return forStage(stage, moduleHashes(), runtime());
    }

    /** {@code stage}'s identity from given module hashes: the SHA-256 of the hashes of the modules it runs. */
    static Map<String, Object> forStage(String stage, Map<String, String> modules, Map<String, Object> runtime) {
        List<String> used = STAGE_MODULES.getOrDefault(stage, List.copyOf(MODULES.keySet()));
        try {
            MessageDigest all = MessageDigest.getInstance("SHA-256");
            for (String name : used.stream().sorted().toList()) {
                all.update((name + "=" + modules.get(name) + "\n").getBytes(StandardCharsets.UTF_8));
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("seed_code_sha256", HexFormat.of().formatHex(all.digest()));
            m.put("seed_modules", String.join(",", used));
            m.putAll(runtime);
            return m;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, Object> runtime() {
        var runtime = seed.workflows.lineage.RuntimeInfo.current();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("djl", runtime.djl());
        m.put("libtorch", runtime.libtorch());
        m.put("device", System.getProperty("seed.device", "cpu"));
        m.put("precision", System.getProperty("seed.precision", "fp32"));
        return m;
    }

    /** Each module's code hash (computed once per JVM). */
    static Map<String, String> moduleHashes() {
        Map<String, String> m = moduleHashes;
        if (m == null) {
            synchronized (CodeIdentity.class) {
                if (moduleHashes == null) {
                    Map<String, String> computed = new java.util.TreeMap<>();
                    MODULES.forEach((name, module) -> computed.put(name, moduleHash(module)));
                    moduleHashes = Map.copyOf(computed);
                }
                m = moduleHashes;
            }
        }
        return m;
    }

    /**
     * The SHA-256 of one module's classes and resources: the entries under its package in the jar or folder that holds
     * its marker class (a plugin jar holds every module: each takes its own package from it).
     */
    private static String moduleHash(Module module) {
        try {
            Class<?> c;
            try {
                c = Class.forName(module.marker(), false, CodeIdentity.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                return "absent";
            }
            Path where = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
            return HexFormat.of().formatHex(Files.isDirectory(where) ? directoryHash(where, module.packagePath())
                    : jarHash(where, module.packagePath()));
        } catch (IOException e) {
            throw new UncheckedIOException("hashing Seed's code for the store address", e);
        } catch (NoSuchAlgorithmException | URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] jarHash(Path jar, String packagePath) throws IOException, NoSuchAlgorithmException {
        MessageDigest d = MessageDigest.getInstance("SHA-256");
        try (JarFile f = new JarFile(jar.toFile())) {
            List<JarEntry> entries = new ArrayList<>(f.stream().filter(e -> !e.isDirectory())
                    .filter(e -> e.getName().startsWith(packagePath)).toList());
            entries.sort(java.util.Comparator.comparing(JarEntry::getName));
            for (JarEntry e : entries) {
                d.update(e.getName().getBytes(StandardCharsets.UTF_8));
                try (InputStream in = f.getInputStream(e)) {
                    d.update(in.readAllBytes());
                }
            }
        }
        return d.digest();
    }

    static byte[] directoryHash(Path dir, String packagePath) throws IOException, NoSuchAlgorithmException {
        MessageDigest d = MessageDigest.getInstance("SHA-256");
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path p : files) {
            String name = dir.relativize(p).toString().replace('\\', '/');
            if (!name.startsWith(packagePath)) {
                continue;
            }
            d.update(name.getBytes(StandardCharsets.UTF_8));
            d.update(Files.readAllBytes(p));
        }
        return d.digest();
    }
}
