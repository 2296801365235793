package seed.annotation.snapshot;

import java.nio.file.Path;

/** A frozen preference snapshot: its file, the SHA-256 of that file, how many rankings and up to which ingestion seq. */
public record SnapshotInfo(long id, long watermark, int count, String sha256, Path path) {
}
