package seed.reward;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.HostTensor;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The on-disk form of a reward model: the stages' checkpoint files (config.json, model.safetensors with the backbone
 * plus {@code reward_head.*}, tokenizer) and {@code reward.json} with the normalisation statistics and the held-out
 * metrics. reward.json is written last, so a folder with it is complete.
 */
public final class RewardModelFiles {

    public static final String REWARD_JSON = "reward.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private RewardModelFiles() {
    }

    /**
     * The statistics stored with a model; {@code safetyFloor} is the normalised score a surely unsafe answer gets from a
     * model with a safety head ({@link RewardModel#normalisedScores}), 0 without one.
     */
    public record Info(float mean, float std, double valAccuracy, double valLoss, String tokenizer, int vocabSize,
            float safetyFloor) {
        /** A model without a safety head. */
        public Info(float mean, float std, double valAccuracy, double valLoss, String tokenizer, int vocabSize) {
            this(mean, std, valAccuracy, valLoss, tokenizer, vocabSize, 0f);
        }
    }

    /** Writes model files into {@code folder} (which must exist and be private to the caller, e.g. a temp dir). */
    public static void writeInto(Path folder, RewardModel model, Info info) throws IOException {
        Files.writeString(folder.resolve(Checkpoints.CONFIG), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(model.config()));
        SafeTensors.write(folder.resolve(Checkpoints.MODEL), model.weights(), Map.of("format", "pt", "producer", "seed-reward"));
        model.tokenizer().save(folder);
        Files.writeString(folder.resolve(REWARD_JSON), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(info));
    }

    /**
     * The final model folder: as {@link #save}, with LoRA adapters folded into the backbone (W + scale B A), so
     * the folder is one plain model that scores like the adapted one.
     */
    public static void saveMerged(Path dir, RewardModel model, Info info) throws IOException {
        Checkpoints.replaceFolder(dir, folder -> {
            Files.writeString(folder.resolve(Checkpoints.CONFIG),
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(model.config()));
            SafeTensors.write(folder.resolve(Checkpoints.MODEL), model.mergedWeights(),
                    Map.of("format", "pt", "producer", "seed-reward"));
            model.tokenizer().save(folder);
            Files.writeString(folder.resolve(REWARD_JSON), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(info));
        });
    }

    /**
     * Overwrites every parameter of {@code model} (backbone, adapters if any, head) with the same-named tensor of
     * {@code weights}, a checkpoint's; fails naming the first one that is missing.
     */
    static void restoreInto(RewardModel model, Map<String, HostTensor> weights, Path where) throws IOException {
        for (Map.Entry<String, ai.djl.ndarray.NDArray> p : model.parameters().entrySet()) {
            HostTensor saved = weights.get(p.getKey());
            if (saved == null) {
                throw new IOException(where + ": " + Checkpoints.MODEL + " has no '" + p.getKey()
                        + "' (a checkpoint of another kind of run?)");
            }
            p.getValue().set(saved.data());
        }
    }

    /** Writes a complete model folder atomically: into a hidden sibling temp folder, then renamed to {@code dir}. */
    public static void save(Path dir, RewardModel model, Info info) throws IOException {
        Checkpoints.replaceFolder(dir, folder -> writeInto(folder, model, info));
    }

    /** The model folder meant by {@code path}: the folder itself, or a reward run folder's {@code model/}. */
    public static Path resolve(Path path) throws IOException {
        if (Files.exists(path.resolve(REWARD_JSON))) {
            return path;
        }
        if (Files.exists(path.resolve("model").resolve(REWARD_JSON))) {
            return path.resolve("model");
        }
        throw new IOException(path + " is not a reward model (no " + REWARD_JSON + " in it or in its model/ folder)");
    }

    public static Info readInfo(Path path) throws IOException {
        return JSON.readValue(resolve(path).resolve(REWARD_JSON).toFile(), Info.class);
    }

    /** Loads a trained reward model with its normalisation, frozen (no parameter requires a gradient: it scores). */
    public static RewardModel load(Path path) throws IOException {
        Path dir = resolve(path);
        Info info = JSON.readValue(dir.resolve(REWARD_JSON).toFile(), Info.class);
        RewardModel model = fromWeights(Checkpoints.readConfig(dir), SafeTensors.read(dir.resolve(Checkpoints.MODEL)),
                Tokenizer.load(dir), dir);
        model.setNormalisation(info.mean(), info.std());
        model.setSafetyFloor(info.safetyFloor());
        return model.frozen();
    }

    /** Rebuilds a reward model (backbone + head) from a weight map holding both. */
    static RewardModel fromWeights(GptConfig config, Map<String, HostTensor> weights, Tokenizer tokenizer, Path where)
            throws IOException {
        Map<String, HostTensor> backbone = new LinkedHashMap<>(weights);
        HostTensor w = backbone.remove("reward_head.weight");
        HostTensor b = backbone.remove("reward_head.bias");
        HostTensor lp = backbone.remove("reward_head.logprob");
        HostTensor sw = backbone.remove("safety_head.weight");
        HostTensor sb = backbone.remove("safety_head.bias");
        if (w == null || b == null) {
            throw new IOException(where + ": model.safetensors has no reward_head.* tensors (an SFT checkpoint, not a reward model?)");
        }
        Gpt gpt = Gpt.fromWeights(config, backbone);
        try {
            RewardModel model = new RewardModel(gpt, tokenizer, w, b);
            if (lp != null) {
                model.readLogProbs(lp); // the log-probability read-out (Readout.END_LOGPROB) was trained
            }
            if (sw != null && sb != null) {
                model.addSafetyHead(sw, sb); // trained from the annotators' unsafe flags
            }
            return model;
        } catch (RuntimeException e) {
            gpt.close();
            throw e;
        }
    }

    static JsonNode readJson(Path file) throws IOException {
        return JSON.readTree(file.toFile());
    }
}
