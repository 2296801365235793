package seed.workflows.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store's promise: same inputs and settings reuse, any changed setting or input byte recomputes. */
class ArtifactStoreTest {

    @Test
    void reusesOnlyWhatTheSameInputsAndSettingsProducedAndStillHashTheSame(@TempDir Path dir) throws IOException {
        ArtifactStore store = ArtifactStore.at(dir.resolve("store"));
        Path input = Files.writeString(dir.resolve("corpus.txt"), "some text");
        ArtifactStore.Key key = store.key("pretrain", Map.of("steps", 10, "lr", 0.003), Map.of("corpus", input));
        assertTrue(store.done(key).isEmpty());

        Path out = Files.writeString(store.workDir(key).resolve("model.bin"), "weights");
        store.complete(key, Map.of("model", out), Map.of("val_loss", 1.5));
        ArtifactStore.Key same = store.key("pretrain", Map.of("lr", 0.003, "steps", 10), Map.of("corpus", input));
        assertEquals(key.sha256(), same.sha256(), "setting order must not matter");
        assertEquals(1.5, store.done(same).orElseThrow().metrics().get("val_loss"));

        assertNotEquals(key.sha256(), store.key("pretrain", Map.of("steps", 11, "lr", 0.003),
                Map.of("corpus", input)).sha256(), "a changed setting is a new address");
        assertNotEquals(key.sha256(), store.key("sft", Map.of("steps", 10, "lr", 0.003),
                Map.of("corpus", input)).sha256(), "another stage is a new address");
        Files.writeString(input, "some text!");
        assertNotEquals(key.sha256(), store.key("pretrain", Map.of("steps", 10, "lr", 0.003),
                Map.of("corpus", input)).sha256(), "a changed input byte is a new address");

        Files.writeString(out, "tampered");
        assertTrue(store.done(key).isEmpty(), "an output that changed since is not handed on");
        assertThrows(IOException.class, () -> store.key("pretrain", Map.of(), Map.of("corpus", dir.resolve("nope"))));
    }
}
