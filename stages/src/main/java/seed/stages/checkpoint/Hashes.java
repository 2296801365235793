package seed.stages.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * SHA-256 of files and folders, the identity of every artifact in a run's lineage. A folder's hash covers the
 * relative path and content hash of every file in it, in sorted order, so it changes if any byte or name changes.
 * Every file counts, hidden ones included (a dot-file slipped into a checkpoint folder changes its hash), and a
 * symbolic link counts as its target's name, never followed (a link cannot pull outside bytes into the hash, and
 * re-pointing it changes the hash). A folder without hidden files or links hashes as it always did.
 */
public final class Hashes {

    private Hashes() {
    }

    public static String sha256(Path path) throws IOException {
        return Files.isDirectory(path) ? folder(path) : file(path);
    }

    private static String file(Path file) throws IOException {
        MessageDigest digest = newDigest();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static String folder(Path root) throws IOException {
        List<Path> entries;
        try (Stream<Path> walk = Files.walk(root)) { // does not follow links: a linked folder is one entry
            entries = walk.filter(p -> Files.isSymbolicLink(p) || Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                    .sorted().toList();
        }
        MessageDigest digest = newDigest();
        for (Path f : entries) {
            digest.update(root.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
            digest.update((byte) 0);
            if (Files.isSymbolicLink(f)) {
                // "link:" cannot be confused with a 64-hex-digit content hash
                digest.update(("link:" + Files.readSymbolicLink(f)).getBytes(StandardCharsets.UTF_8));
            } else {
                digest.update(file(f).getBytes(StandardCharsets.US_ASCII));
            }
            digest.update((byte) '\n');
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always has SHA-256", e);
        }
    }
}
