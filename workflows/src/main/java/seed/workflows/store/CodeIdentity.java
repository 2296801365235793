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
 * SHA-256 of Seed's own compiled modules (the content of each class and resource, in name order, so a rebuild of the
 * same sources has the same identity and a documentation-only commit does not invalidate the store), plus the DJL and
 * libtorch versions the build packages, the device the worker declares ({@code -Dseed.device}, as lineage records it)
 * and the precision ({@code -Dseed.precision}, default fp32).
 */
public final class CodeIdentity {

    /** One class from each Seed module whose code produces artifacts. */
    private static final List<String> MODULES = List.of("seed.stages.model.Gpt", "seed.reward.RewardModel",
            "seed.annotation.Annotation", "seed.workflows.store.ArtifactStore");

    /** Build metadata that names the commit or time, not the code: left out of the code hash. */
    private static final List<String> IGNORED = List.of("seed-git-commit.txt", "META-INF/MANIFEST.MF");

    private static volatile Map<String, Object> current;

    private CodeIdentity() {
    }

    /** The identity of this JVM's code and runtime (computed once). */
    public static Map<String, Object> current() {
        Map<String, Object> c = current;
        if (c == null) {
            synchronized (CodeIdentity.class) {
                if (current == null) {
                    current = compute();
                }
                c = current;
            }
        }
        return c;
    }

    private static Map<String, Object> compute() {
        var runtime = seed.workflows.lineage.RuntimeInfo.current();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seed_code_sha256", codeHash());
        m.put("djl", runtime.djl());
        m.put("libtorch", runtime.libtorch());
        m.put("device", System.getProperty("seed.device", "cpu"));
        m.put("precision", System.getProperty("seed.precision", "fp32"));
        return m;
    }

    static String codeHash() {
        try {
            MessageDigest all = MessageDigest.getInstance("SHA-256");
            java.util.Set<Path> seen = new java.util.HashSet<>(); // the plugin jar holds every module: hash it once
            for (String marker : MODULES) {
                Class<?> c;
                try {
                    c = Class.forName(marker, false, CodeIdentity.class.getClassLoader());
                } catch (ClassNotFoundException e) {
                    all.update(("absent:" + marker).getBytes(StandardCharsets.UTF_8));
                    continue;
                }
                Path where = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
                if (!seen.add(where)) {
                    continue;
                }
                all.update(marker.getBytes(StandardCharsets.UTF_8));
                all.update(Files.isDirectory(where) ? directoryHash(where) : jarHash(where));
            }
            return HexFormat.of().formatHex(all.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("hashing Seed's code for the store address", e);
        } catch (NoSuchAlgorithmException | URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] jarHash(Path jar) throws IOException, NoSuchAlgorithmException {
        MessageDigest d = MessageDigest.getInstance("SHA-256");
        try (JarFile f = new JarFile(jar.toFile())) {
            List<JarEntry> entries = new ArrayList<>(f.stream().filter(e -> !e.isDirectory())
                    .filter(e -> !IGNORED.contains(e.getName())).toList());
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

    static byte[] directoryHash(Path dir) throws IOException, NoSuchAlgorithmException {
        MessageDigest d = MessageDigest.getInstance("SHA-256");
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path p : files) {
            String name = dir.relativize(p).toString().replace('\\', '/');
            if (IGNORED.contains(name)) {
                continue;
            }
            d.update(name.getBytes(StandardCharsets.UTF_8));
            d.update(Files.readAllBytes(p));
        }
        return d.digest();
    }
}
