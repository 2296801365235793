package seed.workflows.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.Hashes;

/**
 * Where every stage's artifacts live, addressed by what produced them: a stage's work folder is named by the SHA-256
 * of (stage, every setting, the SHA-256 of every input). Running a task again with the same inputs and settings finds
 * the folder complete and reuses it; change one setting or one input byte and the address changes, so it recomputes.
 * A stage interrupted mid-way finds its own folder again and resumes from its last checkpoint. A folder counts as
 * complete only once {@code done.json} (outputs with their SHA-256) has been renamed into place, and it is reused
 * only while every output still hashes the same. The root is a local folder, or a path on shared storage in a cluster.
 */
public final class ArtifactStore {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .enable(SerializationFeature.INDENT_OUTPUT);
    static final String DONE = "done.json";

    private final Path root;

    private ArtifactStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public static ArtifactStore at(Path root) throws IOException {
        Files.createDirectories(root);
        return new ArtifactStore(root);
    }

    public Path root() {
        return root;
    }

    /** One stored artifact: where it is, its SHA-256 and size at completion. */
    public record Stored(String path, String sha256, long sizeBytes) {
        public Path file() {
            return Path.of(path);
        }
    }

    /** A completed stage run: its address, inputs, settings, outputs and metrics. */
    public record Done(String key, String stage, Map<String, Object> settings, Map<String, Stored> inputs,
            Map<String, Stored> outputs, Map<String, Object> metrics) {
    }

    /** The address of a stage run and the inputs it was computed from. */
    public record Key(String stage, String sha256, Map<String, Object> settings, Map<String, Stored> inputs) {
    }

    /**
     * Hashes the inputs, canonical settings and the {@link CodeIdentity} of the code this stage runs (its modules and
     * this JVM's runtime) into the run's address.
     */
    public Key key(String stage, Map<String, Object> settings, Map<String, Path> inputs) throws IOException {
        return key(stage, settings, inputs, CodeIdentity.forStage(stage));
    }

    /**
     * Hashes the inputs, canonical settings and {@code code} (what code and runtime make the artifact) into the run's
     * address: the same settings and inputs under other code, natives, device or precision are another address.
     */
    public Key key(String stage, Map<String, Object> settings, Map<String, Path> inputs, Map<String, Object> code)
            throws IOException {
        Map<String, Stored> hashed = new TreeMap<>();
        for (Map.Entry<String, Path> e : inputs.entrySet()) {
            Path p = e.getValue();
            if (!Files.exists(p)) {
                throw new IOException(stage + ": input '" + e.getKey() + "' does not exist: " + p);
            }
            hashed.put(e.getKey(), stored(p));
        }
        Map<String, Object> canonical = new TreeMap<>(settings);
        Map<String, Object> address = new LinkedHashMap<>();
        address.put("stage", stage);
        address.put("settings", canonical);
        Map<String, String> inputHashes = new TreeMap<>();
        hashed.forEach((k, v) -> inputHashes.put(k, v.sha256()));
        address.put("inputs", inputHashes);
        address.put("code", new TreeMap<>(code));
        return new Key(stage, sha256(JSON.writeValueAsString(address)), canonical, hashed);
    }

    /** The stage run's work folder (created on demand). */
    public Path workDir(Key key) throws IOException {
        Path dir = root.resolve("runs").resolve(key.stage() + "-" + key.sha256().substring(0, 24));
        Files.createDirectories(dir);
        return dir;
    }

    /** The file in a stage folder whose lock marks its one live writer. */
    public static final String WRITER_LOCK = ".writer.lock";

    /**
     * The right to write into a stage's folder, held until closed. A stage folder has one live writer: a task that
     * Kestra resubmits after a missed heartbeat while the first copy still runs (in another process, or in this one)
     * must not train into the same folder. The lock is the operating system's (released when the holder's process
     * dies, so a killed run never leaves the folder locked); the file names who holds it.
     */
    public static final class WriterLock implements AutoCloseable {
        private final java.nio.channels.FileChannel channel;
        private final java.nio.channels.FileLock lock;

        private WriterLock(java.nio.channels.FileChannel channel, java.nio.channels.FileLock lock) {
            this.channel = channel;
            this.lock = lock;
        }

        @Override
        public void close() throws IOException {
            try {
                lock.release();
            } finally {
                channel.close();
            }
        }
    }

    /** Takes the folder's writer lock for {@code holder} (who: execution, task run, process), or refuses naming the one who has it. */
    public WriterLock lockForWriting(Key key, String holder) throws IOException {
        Path file = workDir(key).resolve(WRITER_LOCK);
        java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE);
        java.nio.channels.FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null; // this JVM already writes there
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (lock == null) {
            String other;
            try {
                other = Files.readString(file).strip();
            } catch (IOException e) {
                other = "unknown";
            }
            ch.close();
            throw new IllegalStateException(key.stage() + ": " + file.getParent() + " is being written by another live "
                    + "task (" + (other.isEmpty() ? "unknown" : other) + "); refusing a second writer. If that task "
                    + "was resubmitted after a missed heartbeat, the first copy still runs: cancel one of them");
        }
        ch.truncate(0);
        ch.write(java.nio.ByteBuffer.wrap((holder + ", pid " + ProcessHandle.current().pid() + ", since "
                + java.time.Instant.now()).getBytes(java.nio.charset.StandardCharsets.UTF_8)), 0);
        return new WriterLock(ch, lock);
    }

    /**
     * What the lineage ledger says a store address produced. The store trusts it, not {@code done.json}: anyone who
     * can write the store folder can rewrite done.json with a changed checkpoint's new hash, but not the signed,
     * witnessed ledger.
     */
    @FunctionalInterface
    public interface Ledger {
        /** The first completed, validly signed run recorded at this address, or empty when the ledger has none. */
        Optional<Recorded> recorded(Key key);
    }

    /**
     * One ledger record of a store address: the record that produced the artifacts, which a run that reuses them
     * names in its own record.
     *
     * @param record  how to name it in messages ("lineage record 12 (COMPLETE of sft ...)")
     * @param outputs output name -> SHA-256 as recorded
     * @param seq     its sequence number in the ledger (-1 when not known)
     * @param sha256  the SHA-256 of its signed body (null when not known)
     */
    public record Recorded(String record, Map<String, String> outputs, long seq, String sha256) {

        public Recorded(String record, Map<String, String> outputs) {
            this(record, outputs, -1, null);
        }

        /** How a reusing run's record names this one: {record: seq, sha256, describe}. */
        public Map<String, Object> reference() {
            Map<String, Object> ref = new java.util.LinkedHashMap<>();
            ref.put("record", seq);
            ref.put("sha256", sha256);
            ref.put("describe", record);
            return ref;
        }
    }

    /**
     * A completed store folder whose bytes or {@code done.json} no longer match what the ledger recorded for its
     * address: it is neither reused nor resumed in (resuming would train on from the changed checkpoint).
     */
    public static final class Tampered extends IOException {
        private static final long serialVersionUID = 1L;

        Tampered(String message) {
            super(message);
        }
    }

    /** The completed run at this address whose outputs are all intact, if any (no ledger: done.json is trusted). */
    public Optional<Done> done(Key key) throws IOException {
        return done(key, null);
    }

    /**
     * The completed run at this address, if it may be reused. Without a ledger, every output must still hash as
     * {@code done.json} says (else empty: recompute). With one, the ledger decides: when it recorded no completed run
     * at this address the folder is set aside ({@code <folder>.unvouched-<millis>}) and empty is returned, so the
     * stage recomputes in a fresh folder; when done.json or any output's bytes differ from the recorded outputs this
     * throws {@link Tampered} naming each difference.
     */
    public Optional<Done> done(Key key, Ledger ledger) throws IOException {
        Path dir = root.resolve("runs").resolve(key.stage() + "-" + key.sha256().substring(0, 24));
        Path file = dir.resolve(DONE);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        Done done = JSON.readValue(file.toFile(), Done.class);
        if (ledger == null) {
            for (Stored s : done.outputs().values()) {
                if (!Files.exists(s.file()) || !Hashes.sha256(s.file()).equals(s.sha256())) {
                    return Optional.empty(); // changed or deleted since: recompute rather than hand on a wrong artifact
                }
            }
            return Optional.of(done);
        }
        Optional<Recorded> recorded = ledger.recorded(key);
        if (recorded.isEmpty()) {
            // complete on disk but never recorded as such (another database, or a done.json written by hand)
            Path aside = dir.resolveSibling(dir.getFileName() + ".unvouched-" + System.currentTimeMillis());
            Files.move(dir, aside);
            return Optional.empty();
        }
        java.util.List<String> diffs = new java.util.ArrayList<>();
        Map<String, String> want = recorded.get().outputs();
        for (String name : done.outputs().keySet()) {
            if (!want.containsKey(name)) {
                diffs.add("done.json lists output '" + name + "', which the ledger did not record");
            }
        }
        for (Map.Entry<String, String> w : want.entrySet()) {
            Stored s = done.outputs().get(w.getKey());
            if (s == null) {
                diffs.add("output '" + w.getKey() + "' is missing from done.json");
                continue;
            }
            if (!s.sha256().equals(w.getValue())) {
                diffs.add("done.json claims sha256 " + s.sha256() + " for output '" + w.getKey() + "'");
            }
            if (!Files.exists(s.file())) {
                diffs.add("output '" + w.getKey() + "' at " + s.path() + " no longer exists");
            } else {
                String now = Hashes.sha256(s.file());
                if (!now.equals(w.getValue())) {
                    diffs.add("output '" + w.getKey() + "' at " + s.path() + " now hashes to " + now);
                }
            }
        }
        if (!diffs.isEmpty()) {
            throw new Tampered("store folder " + dir + " (" + key.stage() + ", address " + key.sha256() + ") differs"
                    + " from " + recorded.get().record() + ", which recorded " + want + ": " + String.join("; ", diffs)
                    + ". Refusing to reuse it or resume in it; move the folder away to recompute");
        }
        return Optional.of(done);
    }

    /** Hashes the outputs and marks the run complete, atomically (a rename of done.json). */
    public Done complete(Key key, Map<String, Path> outputs, Map<String, Object> metrics) throws IOException {
        Map<String, Stored> hashed = new TreeMap<>();
        for (Map.Entry<String, Path> e : outputs.entrySet()) {
            hashed.put(e.getKey(), stored(e.getValue()));
        }
        Done done = new Done(key.sha256(), key.stage(), key.settings(), key.inputs(), hashed, new TreeMap<>(metrics));
        Checkpoints.writeAtomically(workDir(key).resolve(DONE), JSON.writeValueAsString(done));
        return done;
    }

    static Stored stored(Path p) throws IOException {
        Path abs = p.toAbsolutePath().normalize();
        return new Stored(abs.toString(), Hashes.sha256(abs), size(abs));
    }

    private static long size(Path p) throws IOException {
        if (Files.isRegularFile(p)) {
            return Files.size(p);
        }
        try (var walk = Files.walk(p)) {
            return walk.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
