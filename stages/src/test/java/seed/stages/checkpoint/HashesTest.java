package seed.stages.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Folder hashes cover every file (issue 18: a hidden file slipped into a checkpoint folder went unnoticed), count a
 * symbolic link by its target name without following it, and keep the earlier format for ordinary folders (so hashes
 * recorded before stay valid).
 */
class HashesTest {

    @Test
    void aHiddenFileOrFolderAddedToACheckpointChangesItsHash(@TempDir Path dir) throws Exception {
        Path ck = Files.createDirectories(dir.resolve("step-0000008"));
        Files.writeString(ck.resolve("config.json"), "{}");
        Files.write(ck.resolve("model.safetensors"), new byte[] {1, 2, 3});
        String before = Hashes.sha256(ck);
        Files.writeString(ck.resolve(".payload"), "x");
        String hiddenFile = Hashes.sha256(ck);
        assertNotEquals(before, hiddenFile, "a dot-file counts");
        Files.delete(ck.resolve(".payload"));
        assertEquals(before, Hashes.sha256(ck));
        Files.writeString(Files.createDirectories(ck.resolve(".git")).resolve("x"), "y");
        assertNotEquals(before, Hashes.sha256(ck), "a file in a hidden folder counts");
    }

    @Test
    void anOrdinaryFolderHashesAsBeforeAndALinkCountsByItsTarget(@TempDir Path dir) throws Exception {
        Path ck = Files.createDirectories(dir.resolve("ck"));
        Files.writeString(ck.resolve("a.txt"), "alpha");
        Files.writeString(Files.createDirectories(ck.resolve("sub")).resolve("b.txt"), "beta");
        // the format since issue 8: relative path, NUL, hex SHA-256 of the content, newline, in sorted order
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (String[] f : new String[][] {{"a.txt", "alpha"}, {"sub/b.txt", "beta"}}) {
            md.update(f[0].getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(f[1].getBytes(StandardCharsets.UTF_8))).getBytes(StandardCharsets.US_ASCII));
            md.update((byte) '\n');
        }
        assertEquals(HexFormat.of().formatHex(md.digest()), Hashes.sha256(ck));

        String before = Hashes.sha256(ck);
        Path outside = Files.writeString(dir.resolve("outside.bin"), "one");
        Files.createSymbolicLink(ck.resolve("linked.bin"), outside);
        String linked = Hashes.sha256(ck);
        assertNotEquals(before, linked, "a link counts");
        Files.writeString(outside, "two");
        assertEquals(linked, Hashes.sha256(ck), "the link is not followed: outside bytes do not enter the hash");
        Files.delete(ck.resolve("linked.bin"));
        Files.createSymbolicLink(ck.resolve("linked.bin"), dir.resolve("elsewhere.bin"));
        assertNotEquals(linked, Hashes.sha256(ck), "re-pointing the link changes the hash");
    }
}
