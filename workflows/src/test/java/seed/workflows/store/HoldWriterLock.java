package seed.workflows.store;

import java.nio.file.Path;
import java.util.Map;

/**
 * A second process for {@link WriterLockTest}: takes a stage folder's writer lock as a task in another worker would,
 * says so, and holds it until killed.
 */
public final class HoldWriterLock {

    private HoldWriterLock() {
    }

    public static void main(String[] args) throws Exception {
        ArtifactStore store = ArtifactStore.at(Path.of(args[0]));
        ArtifactStore.Key key = store.key("pretrain", Map.of("steps", 10), Map.of("corpus", Path.of(args[1])));
        try (ArtifactStore.WriterLock lock = store.lockForWriting(key, "execution other, task run first-copy")) {
            System.out.println("held");
            System.out.flush();
            Thread.sleep(120_000);
        }
    }
}
