package seed.stages.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A checkpoint is complete or absent: a failure while writing leaves the previous one as 'latest'. */
class CheckpointsTest {

    @Test
    void aFailedWriteLeavesThePreviousCheckpointLatestAndNoHalfFolder(@TempDir Path run) throws Exception {
        Checkpoints.commit(run, "step-0000001", 3, folder -> Files.writeString(folder.resolve(Checkpoints.MODEL), "a"));
        assertThrows(IOException.class, () -> Checkpoints.commit(run, "step-0000002", 3, folder -> {
            Files.writeString(folder.resolve(Checkpoints.MODEL), "partial");
            throw new IOException("disk full");
        }));
        assertEquals(run.resolve("checkpoints/step-0000001"), Checkpoints.resolve(run));
        try (Stream<Path> children = Files.list(run.resolve("checkpoints"))) {
            assertEquals(1, children.count(), "no incomplete folder is left behind");
        }
    }

    @Test
    void aKilledWriterLeavesOnlyAHiddenIncompleteFolderThatIsIgnored(@TempDir Path run) throws Exception {
        Checkpoints.commit(run, "step-0000001", 3, folder -> Files.writeString(folder.resolve(Checkpoints.MODEL), "a"));
        // what a kill -9 in the middle of a write leaves: a temp folder that was never renamed
        Path orphan = Files.createDirectories(run.resolve("checkpoints/.incomplete-step-0000002-123"));
        Files.writeString(orphan.resolve(Checkpoints.MODEL), "half");
        assertEquals(run.resolve("checkpoints/step-0000001"), Checkpoints.resolve(run));
        assertFalse(orphan.getFileName().toString().startsWith("step-"));
    }

    @Test
    void sameTensorsGiveTheSameBytesWhateverTheMetadataMapOrder(@TempDir Path dir) throws Exception {
        var tensors = new java.util.LinkedHashMap<String, HostTensor>();
        tensors.put("w", new HostTensor(new long[] {2, 2}, new float[] {1, 2, 3, 4}));
        var ab = new java.util.LinkedHashMap<String, String>();
        ab.put("format", "pt");
        ab.put("producer", "seed");
        var ba = new java.util.LinkedHashMap<String, String>();
        ba.put("producer", "seed");
        ba.put("format", "pt");
        SafeTensors.write(dir.resolve("a.safetensors"), tensors, ab);
        SafeTensors.write(dir.resolve("b.safetensors"), tensors, ba);
        // lineage identifies artifacts by SHA-256: identical weights must be identical files
        assertEquals(Hashes.sha256(dir.resolve("a.safetensors")), Hashes.sha256(dir.resolve("b.safetensors")));
        assertEquals(4, SafeTensors.read(dir.resolve("a.safetensors")).get("w").data().length);
    }

    @Test
    void oldCheckpointsArePrunedToTheKeepCount(@TempDir Path run) throws Exception {
        for (int step = 1; step <= 4; step++) {
            Checkpoints.commit(run, Checkpoints.nameFor(step), 2,
                    folder -> Files.writeString(folder.resolve(Checkpoints.MODEL), "x"));
        }
        assertTrue(Files.exists(run.resolve("checkpoints/" + Checkpoints.nameFor(4))));
        assertTrue(Files.exists(run.resolve("checkpoints/" + Checkpoints.nameFor(3))));
        assertFalse(Files.exists(run.resolve("checkpoints/" + Checkpoints.nameFor(2))));
    }
}
