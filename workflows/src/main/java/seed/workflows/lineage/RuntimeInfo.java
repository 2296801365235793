package seed.workflows.lineage;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The code and runtime a task run ran on, filled in by {@link Lineage} itself: Seed's version and git commit (written
 * into the jar at build time as {@code seed-build.properties} and {@code seed-git-commit.txt}), the JVM, and the DJL
 * and libtorch versions the build packages. "unknown" when a value was not available at build time (e.g. a build
 * outside a git checkout), never guessed.
 */
public record RuntimeInfo(String seedVersion, String gitCommit, boolean gitDirty, String jvm, String djl,
        String libtorch, String os) {

    private static final RuntimeInfo CURRENT = load();

    /** The values for this JVM (read once). */
    public static RuntimeInfo current() {
        return CURRENT;
    }

    private static RuntimeInfo load() {
        Properties build = properties("/seed-build.properties");
        String describe = text("/seed-git-commit.txt"); // "<40 hex>" or "<40 hex>-dirty" or "unknown"
        boolean dirty = describe.endsWith("-dirty");
        String commit = dirty ? describe.substring(0, describe.length() - "-dirty".length()) : describe;
        return new RuntimeInfo(build.getProperty("seed.version", "unknown"), commit.isBlank() ? "unknown" : commit,
                dirty,
                System.getProperty("java.vendor") + " " + System.getProperty("java.runtime.version"),
                build.getProperty("djl.version", "unknown"), build.getProperty("libtorch.version", "unknown"),
                System.getProperty("os.name") + " " + System.getProperty("os.arch"));
    }

    private static String text(String resource) {
        try (InputStream in = RuntimeInfo.class.getResourceAsStream(resource)) {
            return in == null ? "unknown" : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource + " from the jar", e);
        }
    }

    private static Properties properties(String resource) {
        Properties p = new Properties();
        try (InputStream in = RuntimeInfo.class.getResourceAsStream(resource)) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource + " from the jar", e);
        }
        return p;
    }

    /** As the canonical map stored in each lineage record. */
    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seed_version", seedVersion);
        m.put("git_commit", gitCommit);
        m.put("git_dirty", gitDirty);
        m.put("jvm", jvm);
        m.put("djl", djl);
        m.put("libtorch", libtorch);
        m.put("os", os);
        return m;
    }
}
