package seed.stages.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.model.HuggingFace;
import seed.stages.tokenizer.Tokenizer;

/**
 * Checkpoint directories that are either complete or absent. A checkpoint is written into a hidden temporary folder
 * and renamed into place, then the run's {@code latest} pointer is replaced by a rename too, so an interrupted run
 * never leaves a checkpoint that looks complete but is not.
 *
 * <p>Layout of a run folder: {@code checkpoints/step-000100/{config.json, model.safetensors, optimizer.safetensors,
 * state.json, tokenizer.json?}}, {@code latest} (the name of the newest complete checkpoint), {@code metrics.jsonl}.
 */
public final class Checkpoints {

    public static final String CONFIG = "config.json";
    public static final String MODEL = "model.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String STATE = "state.json";
    public static final String LATEST = "latest";
    public static final String DIR = "checkpoints";

    /** Pretty-printing JSON for the small files of a checkpoint (config, state). */
    public static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Reader for those files; tolerates fields added by newer versions. */
    public static final ObjectMapper JSON_READER = new ObjectMapper()
            .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** Writes the files of one checkpoint into a folder it is given; may throw. */
    @FunctionalInterface
    public interface Writer {
        void writeInto(Path folder) throws IOException;
    }

    private Checkpoints() {
    }

    /** Name of the checkpoint folder for a step: zero-padded so that names sort by step. */
    public static String nameFor(long step) {
        return String.format("step-%07d", step);
    }

    /**
     * Writes a checkpoint atomically under {@code runDir/checkpoints/name}, points {@code latest} at it, and keeps
     * only the newest {@code keep} checkpoints. Returns the checkpoint folder.
     */
    public static Path commit(Path runDir, String name, int keep, Writer writer) throws IOException {
        Path target = replaceFolder(runDir.resolve(DIR).resolve(name), writer);
        writeAtomically(runDir.resolve(LATEST), name + "\n");
        prune(target.getParent(), keep, name);
        return target;
    }

    /**
     * Writes a whole folder (a model, a policy, a checkpoint) into a hidden temporary sibling and renames it over
     * {@code dir}, so readers see the old folder or the complete new one, never a half-written one. Returns dir.
     */
    public static Path replaceFolder(Path dir, Writer writer) throws IOException {
        Path parent = Files.createDirectories(dir.toAbsolutePath().getParent());
        Path temp = Files.createTempDirectory(parent, ".incomplete-" + dir.getFileName() + "-");
        try {
            writer.writeInto(temp);
            deleteTree(dir);
            move(temp, dir);
            return dir;
        } catch (IOException | RuntimeException e) {
            deleteTree(temp);
            throw e;
        }
    }

    /** Writes a small text file by writing a sibling temporary file and renaming it over the target. */
    public static void writeAtomically(Path file, String text) throws IOException {
        Path temp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".tmp");
        try {
            Files.writeString(temp, text, StandardCharsets.UTF_8);
            move(temp, file);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
    }

    /** Writes any object as pretty JSON, atomically. */
    public static void writeJson(Path file, Object value) throws IOException {
        writeAtomically(file, JSON.writeValueAsString(value));
    }

    /**
     * The checkpoint folder meant by {@code path}: a checkpoint folder itself (it has model.safetensors), or a run
     * folder whose {@code latest} names one. Fails with a message naming what is missing.
     */
    public static Path resolve(Path path) throws IOException {
        if (!Files.isDirectory(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such checkpoint or run folder");
        }
        if (Files.exists(path.resolve(MODEL)) || PeftAdapters.isAdapterFolder(path)) {
            return path;
        }
        Path latest = path.resolve(LATEST);
        if (Files.exists(latest)) {
            Path checkpoint = path.resolve(DIR).resolve(Files.readString(latest).trim());
            if (Files.exists(checkpoint.resolve(MODEL)) || PeftAdapters.isAdapterFolder(checkpoint)) {
                return checkpoint;
            }
            throw new IOException(path + ": 'latest' points at " + checkpoint + ", which has no " + MODEL);
        }
        throw new IOException(path + " holds no checkpoint (neither " + MODEL + " nor a '" + LATEST + "' pointer)");
    }

    public static GptConfig readConfig(Path checkpoint) throws IOException {
        try {
            return JSON_READER.readValue(checkpoint.resolve(CONFIG).toFile(), GptConfig.class);
        } catch (IOException e) {
            throw new IOException("cannot read the model config of " + checkpoint + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes a model: its config, tokenizer and weights; for a model with LoRA adapters, the adapters only, in
     * PEFT's layout ({@link PeftAdapters}), naming the base folder they apply to.
     */
    public static void writeModel(Path folder, Gpt model, Tokenizer tokenizer) throws IOException {
        JSON.writeValue(folder.resolve(CONFIG).toFile(), model.config());
        if (model.lora() != null) {
            PeftAdapters.write(folder, model, model.adapterBase());
        } else {
            SafeTensors.write(folder.resolve(MODEL), model.weights(), Map.of("format", "pt", "producer", "seed"));
        }
        tokenizer.save(folder);
    }

    /**
     * Loads the model of a checkpoint or run folder (see {@link #resolve}), a LoRA checkpoint (its base, with the
     * base's own adapters folded in if it has any, plus these adapters), or a Hugging Face model folder.
     */
    public static Gpt loadModel(Path path) throws IOException {
        if (HuggingFace.isModelFolder(path)) {
            return HuggingFace.load(path);
        }
        Path checkpoint = resolve(path);
        if (PeftAdapters.isAdapterFolder(checkpoint)) {
            Path basePath = PeftAdapters.base(checkpoint);
            Gpt model = mergedBase(basePath);
            try {
                model.addAdapters(PeftAdapters.readSettings(checkpoint), 0, basePath);
                model.loadAdapterWeights(PeftAdapters.readWeights(checkpoint));
                return model;
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
        }
        return Gpt.fromWeights(readConfig(checkpoint), SafeTensors.read(checkpoint.resolve(MODEL)));
    }

    /**
     * The model of {@code path} as one set of weights: a model with adapters comes back with them folded into its
     * projections (the base new adapters are added to, e.g. RL with LoRA on a LoRA SFT model).
     */
    public static Gpt mergedBase(Path path) throws IOException {
        Gpt model = loadModel(path);
        if (model.lora() == null) {
            return model;
        }
        try (model) {
            return Gpt.fromWeights(model.config(), model.mergedWeights());
        }
    }

    /**
     * The folder whose weights {@code path} means, pinned: a Hugging Face folder itself, else the checkpoint a run
     * folder's {@code latest} points at now (so adapters never silently move to a newer base).
     */
    public static Path modelFolder(Path path) throws IOException {
        return HuggingFace.isModelFolder(path) ? path : resolve(path);
    }

    /** Overwrites {@code model}'s trained weights with a checkpoint's (all weights, or the adapters of a LoRA run). */
    public static void loadWeightsInto(Gpt model, Path checkpoint) throws IOException {
        if (PeftAdapters.isAdapterFolder(checkpoint)) {
            if (model.lora() == null) {
                throw new IllegalArgumentException(checkpoint + " holds LoRA adapters but this run trains all weights "
                        + "(add the --lora-* settings it was trained with)");
            }
            model.loadAdapterWeights(PeftAdapters.readWeights(checkpoint));
        } else {
            if (model.lora() != null) {
                throw new IllegalArgumentException(checkpoint + " holds a whole model but this run trains LoRA "
                        + "adapters (drop --lora-rank to resume it)");
            }
            model.loadWeights(SafeTensors.read(checkpoint.resolve(MODEL)));
        }
    }

    /** Loads the tokenizer stored with a checkpoint or run folder. */
    public static Tokenizer loadTokenizer(Path path) throws IOException {
        if (HuggingFace.isModelFolder(path)) {
            return HuggingFace.loadTokenizer(path);
        }
        return Tokenizer.load(resolve(path));
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void prune(Path parent, int keep, String newest) throws IOException {
        List<Path> complete = new ArrayList<>();
        try (Stream<Path> children = Files.list(parent)) {
            children.filter(p -> p.getFileName().toString().startsWith("step-")).forEach(complete::add);
        }
        complete.sort(Comparator.comparing(p -> p.getFileName().toString()));
        for (int i = 0; i < complete.size() - keep; i++) {
            if (!complete.get(i).getFileName().toString().equals(newest)) {
                deleteTree(complete.get(i));
            }
        }
    }

    /** Deletes a folder and everything in it (no-op when absent). */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
