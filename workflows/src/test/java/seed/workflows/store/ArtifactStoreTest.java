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

    /**
     * With a ledger (issue 18) the store trusts the recorded hashes, not done.json: a folder whose done.json was
     * rewritten to match changed bytes is refused naming the output, and a complete folder the ledger never recorded
     * (a done.json written by hand at a predictable address) is set aside so the stage recomputes in a fresh one.
     */
    @Test
    void withALedgerTheRecordedHashesDecideNotDoneJson(@TempDir Path dir) throws IOException {
        ArtifactStore store = ArtifactStore.at(dir.resolve("store"));
        Path input = Files.writeString(dir.resolve("corpus.txt"), "some text");
        ArtifactStore.Key key = store.key("sft", Map.of("steps", 10), Map.of("corpus", input));
        Path out = Files.writeString(store.workDir(key).resolve("model.bin"), "weights");
        ArtifactStore.Done done = store.complete(key, Map.of("model", out), Map.of());
        String recorded = done.outputs().get("model").sha256();
        ArtifactStore.Ledger ledger = k -> k.sha256().equals(key.sha256())
                ? java.util.Optional.of(new ArtifactStore.Recorded("lineage record 7", Map.of("model", recorded)))
                : java.util.Optional.empty();
        assertEquals(recorded, store.done(key, ledger).orElseThrow().outputs().get("model").sha256(), "intact: reused");

        Files.writeString(out, "weights, changed");
        String forged = seed.stages.checkpoint.Hashes.sha256(out);
        Path doneJson = store.workDir(key).resolve(ArtifactStore.DONE);
        Files.writeString(doneJson, Files.readString(doneJson).replace(recorded, forged));
        assertTrue(store.done(key).isPresent(), "without a ledger the rewritten done.json is believed (the old hole)");
        ArtifactStore.Tampered t = assertThrows(ArtifactStore.Tampered.class, () -> store.done(key, ledger));
        assertTrue(t.getMessage().contains("differs from lineage record 7") && t.getMessage().contains(
                "output 'model' at " + out.toAbsolutePath() + " now hashes to " + forged), t.getMessage());

        ArtifactStore.Key other = store.key("sft", Map.of("steps", 11), Map.of("corpus", input));
        Path planted = Files.writeString(store.workDir(other).resolve("model.bin"), "planted");
        store.complete(other, Map.of("model", planted), Map.of());
        assertTrue(store.done(other, ledger).isEmpty(), "never recorded: not reused");
        assertTrue(!Files.exists(store.workDir(other).resolve("model.bin")), "and recomputed in a fresh folder");
        try (var listing = Files.list(store.root().resolve("runs"))) {
            assertTrue(listing.anyMatch(p -> p.getFileName().toString().contains(".unvouched-")), "set aside, not deleted");
        }
    }

    /**
     * Issue 17: the address includes the code and runtime that make the artifact, so an upgraded Seed, DJL or libtorch,
     * or another device or precision, never reuses an artifact made by other code; a rebuild of the same code (or a
     * change to build metadata only) keeps the address.
     */
    @Test
    void theAddressIncludesTheCodeNativesDeviceAndPrecision(@TempDir Path dir) throws Exception {
        ArtifactStore store = ArtifactStore.at(dir.resolve("store"));
        Path input = Files.writeString(dir.resolve("corpus.txt"), "some text");
        Map<String, Object> code = Map.of("seed_code_sha256", "a".repeat(64), "djl", "0.35.1", "libtorch", "2.7.1",
                "device", "cpu", "precision", "fp32");
        String base = store.key("pretrain", Map.of("steps", 10), Map.of("corpus", input), code).sha256();
        assertEquals(base, store.key("pretrain", Map.of("steps", 10), Map.of("corpus", input),
                new java.util.TreeMap<>(code)).sha256());
        for (Map.Entry<String, Object> change : Map.<String, Object>of("seed_code_sha256", "b".repeat(64), "djl",
                "0.36.0", "libtorch", "2.8.0", "device", "gpu:0", "precision", "bf16").entrySet()) {
            Map<String, Object> other = new java.util.HashMap<>(code);
            other.put(change.getKey(), change.getValue());
            assertNotEquals(base, store.key("pretrain", Map.of("steps", 10), Map.of("corpus", input), other).sha256(),
                    "another " + change.getKey() + " is another address");
        }

        Map<String, Object> here = CodeIdentity.forStage("pretrain");
        assertTrue(String.valueOf(here.get("seed_code_sha256")).matches("[0-9a-f]{64}"), here.toString());
        assertEquals(here, CodeIdentity.forStage("pretrain"), "the same code hashes the same");
        assertEquals(store.key("pretrain", Map.of("steps", 10), Map.of("corpus", input), here).sha256(),
                store.key("pretrain", Map.of("steps", 10), Map.of("corpus", input)).sha256());

        Path classes = Files.createDirectories(dir.resolve("classes/seed/stages"));
        Files.write(classes.resolve("A.class"), new byte[] {1, 2, 3});
        Files.writeString(dir.resolve("classes/seed-git-commit.txt"), "abc");
        byte[] before = CodeIdentity.directoryHash(dir.resolve("classes"), "seed/stages/");
        Files.writeString(dir.resolve("classes/seed-git-commit.txt"), "def");
        Files.createDirectories(dir.resolve("classes/seed/reward"));
        Files.write(dir.resolve("classes/seed/reward/B.class"), new byte[] {9});
        assertTrue(java.util.Arrays.equals(before, CodeIdentity.directoryHash(dir.resolve("classes"), "seed/stages/")),
                "a new commit with the same code, or another module's change, keeps the address");
        Files.write(classes.resolve("A.class"), new byte[] {1, 2, 4});
        assertTrue(!java.util.Arrays.equals(before, CodeIdentity.directoryHash(dir.resolve("classes"), "seed/stages/")),
                "changed code is another address");
    }
}
