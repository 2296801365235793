package seed.workflows.lineage;

import java.io.IOException;
import seed.stages.checkpoint.Hashes;
import java.nio.file.Path;

/** A file or folder a step read or wrote, identified by its SHA-256 at that time. */
public record Artifact(String path, String sha256) {

    public static Artifact of(Path path) throws IOException {
        return new Artifact(path.toAbsolutePath().normalize().toString(), Hashes.sha256(path));
    }

    /** Whether the artifact still exists with the same content. */
    public boolean verify() throws IOException {
        Path p = Path.of(path);
        return java.nio.file.Files.exists(p) && Hashes.sha256(p).equals(sha256);
    }
}
