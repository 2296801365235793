package seed.annotation.snapshot;

import java.nio.file.Path;
import java.util.List;

/**
 * A frozen preference snapshot: its file, the SHA-256 of that file, how many rankings and up to which ingestion seq,
 * and which items it covers ({@code scope} ITEMS or ALL, see {@link SnapshotScope}; {@code itemIds} sorted, with
 * {@code itemIdsSha256} as {@link SnapshotScope#idsSha256} computes it). Snapshots made before the V12 migration
 * have scope ALL, an empty {@code itemIds} and a null {@code itemIdsSha256}.
 */
public record SnapshotInfo(long id, long watermark, int count, String sha256, Path path, String scope,
                           List<Long> itemIds, String itemIdsSha256) {

    public SnapshotInfo {
        itemIds = List.copyOf(itemIds);
    }
}
