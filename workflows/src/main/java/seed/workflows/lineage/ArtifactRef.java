package seed.workflows.lineage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.stream.Stream;
import seed.stages.checkpoint.Hashes;

/**
 * One file or folder a task run read or wrote, named by its content: the SHA-256 ({@link Hashes}, which covers every
 * file of a folder) and size at the time of the run. Lineage links runs through these hashes, so an artifact that was
 * moved is still found and one that was changed no longer matches.
 *
 * @param name      the task's own name for it ("checkpoint", "corpus", "rankings", ...)
 * @param path      absolute, normalised path
 * @param sha256    lower-case hex SHA-256
 * @param sizeBytes bytes (the sum over a folder's files)
 * @param kind      corpus, dataset, prompts, checkpoint, candidates, snapshot, reward_model, policy, metrics, report, ...
 */
public record ArtifactRef(String name, String path, String sha256, long sizeBytes, String kind) {

    public ArtifactRef {
        Objects.requireNonNull(name, "artifact name");
        Objects.requireNonNull(path, "artifact path");
        Objects.requireNonNull(kind, "artifact kind");
        if (sha256 == null || !sha256.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("artifact " + name + ": sha256 must be 64 lower-case hex digits, got " + sha256);
        }
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("artifact " + name + ": negative size " + sizeBytes);
        }
    }

    /** Hashes and measures the file or folder now (call it when the task has finished writing it). */
    public static ArtifactRef of(String name, Path path, String kind) {
        Path p = path.toAbsolutePath().normalize();
        try {
            return new ArtifactRef(name, p.toString(), Hashes.sha256(p), size(p), kind);
        } catch (IOException e) {
            throw new UncheckedIOException("hashing artifact " + name + " at " + p + ": " + e.getMessage(), e);
        }
    }

    /** Bytes of a file, or of every regular file under a folder. */
    static long size(Path p) throws IOException {
        if (!Files.isDirectory(p)) {
            return Files.size(p);
        }
        try (Stream<Path> walk = Files.walk(p)) {
            long total = 0;
            for (Path f : (Iterable<Path>) walk.filter(Files::isRegularFile)::iterator) {
                total += Files.size(f);
            }
            return total;
        }
    }
}
