package seed.stages.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.HostTensor;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.tokenizer.BpeModel;
import seed.stages.tokenizer.ByteLevel;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.tokenizer.TokenizerJson;

/**
 * Hugging Face interop in GPT-2's layout ({@code GPT2LMHeadModel}): {@code config.json}, {@code model.safetensors}
 * with GPT-2's key names ({@code transformer.h.0.attn.c_attn.weight}, ...) and its Conv1D orientation (weights stored
 * (in, out), the transpose of torch's linear), and {@code tokenizer.json}. Seed's model is GPT-2's architecture, so
 * the mapping is names and transposes only; Seed's defaults that differ from GPT-2 (an untied head, exact GELU) are
 * written as the GPT-2 config options that mean them ({@code tie_word_embeddings: false} plus {@code lm_head.weight},
 * {@code activation_function: "gelu"}), and GPT-2-style models ({@link GptConfig#gpt2Style()}) as GPT-2 itself.
 */
public final class HuggingFace {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private HuggingFace() {
    }

    /** Seed parameter name -> (GPT-2 key, whether the weight is transposed: Conv1D). */
    static Map<String, Map.Entry<String, Boolean>> keyMap(GptConfig c) {
        Map<String, Map.Entry<String, Boolean>> keys = new LinkedHashMap<>();
        keys.put("wte.weight", Map.entry("transformer.wte.weight", false));
        keys.put("wpe.weight", Map.entry("transformer.wpe.weight", false));
        for (int i = 0; i < c.layers(); i++) {
            String s = "h." + i + ".";
            String h = "transformer.h." + i + ".";
            keys.put(s + "ln1.weight", Map.entry(h + "ln_1.weight", false));
            keys.put(s + "ln1.bias", Map.entry(h + "ln_1.bias", false));
            keys.put(s + "attn.qkv.weight", Map.entry(h + "attn.c_attn.weight", true));
            keys.put(s + "attn.qkv.bias", Map.entry(h + "attn.c_attn.bias", false));
            keys.put(s + "attn.proj.weight", Map.entry(h + "attn.c_proj.weight", true));
            keys.put(s + "attn.proj.bias", Map.entry(h + "attn.c_proj.bias", false));
            keys.put(s + "ln2.weight", Map.entry(h + "ln_2.weight", false));
            keys.put(s + "ln2.bias", Map.entry(h + "ln_2.bias", false));
            keys.put(s + "mlp.fc.weight", Map.entry(h + "mlp.c_fc.weight", true));
            keys.put(s + "mlp.fc.bias", Map.entry(h + "mlp.c_fc.bias", false));
            keys.put(s + "mlp.proj.weight", Map.entry(h + "mlp.c_proj.weight", true));
            keys.put(s + "mlp.proj.bias", Map.entry(h + "mlp.c_proj.bias", false));
        }
        keys.put("lnf.weight", Map.entry("transformer.ln_f.weight", false));
        keys.put("lnf.bias", Map.entry("transformer.ln_f.bias", false));
        if (!c.tiedEmbeddings()) {
            keys.put("head.weight", Map.entry("lm_head.weight", false));
        }
        return keys;
    }

    /** Writes {@code model} and {@code tokenizer} as a Hugging Face GPT-2 folder. */
    public static void export(Gpt model, Tokenizer tokenizer, Path outDir) throws IOException {
        Files.createDirectories(outDir);
        GptConfig c = model.config();
        Map<String, HostTensor> weights = model.weights();
        Map<String, HostTensor> out = new LinkedHashMap<>();
        keyMap(c).forEach((seedName, hf) -> {
            HostTensor w = weights.get(seedName);
            out.put(hf.getKey(), hf.getValue() ? transpose(w) : w);
        });
        SafeTensors.write(outDir.resolve("model.safetensors"), out, Map.of("format", "pt"));
        ObjectNode config = JSON.createObjectNode();
        config.putArray("architectures").add("GPT2LMHeadModel");
        config.put("model_type", "gpt2");
        config.put("vocab_size", c.vocabSize());
        config.put("n_positions", c.context());
        config.put("n_ctx", c.context());
        config.put("n_embd", c.dModel());
        config.put("n_layer", c.layers());
        config.put("n_head", c.heads());
        config.putNull("n_inner"); // 4 * n_embd
        config.put("activation_function", c.activation() == GptConfig.Activation.GELU_TANH ? "gelu_new" : "gelu");
        config.put("layer_norm_epsilon", 1e-5);
        config.put("tie_word_embeddings", c.tiedEmbeddings());
        config.put("resid_pdrop", 0.0);
        config.put("embd_pdrop", 0.0);
        config.put("attn_pdrop", 0.0);
        config.put("scale_attn_weights", true);
        config.put("bos_token_id", tokenizer.endOfTextId());
        config.put("eos_token_id", tokenizer.endOfTextId());
        config.put("torch_dtype", "float32");
        JSON.writeValue(outDir.resolve("config.json").toFile(), config);
        if (tokenizer instanceof ByteTokenizer) {
            Files.write(outDir.resolve("tokenizer.json"), TokenizerJson.write(byteVocabulary()));
        } else {
            tokenizer.save(outDir);
        }
    }

    /** Reads a Hugging Face GPT-2 folder (keys with or without the {@code transformer.} prefix) as a Seed model. */
    /** Whether {@code dir} is a Hugging Face model folder (its config.json names a {@code model_type}). */
    public static boolean isModelFolder(Path dir) {
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            return false;
        }
        try {
            return JSON.readTree(config.toFile()).hasNonNull("model_type");
        } catch (IOException e) {
            return false;
        }
    }

    public static Gpt load(Path dir) throws IOException {
        GptConfig c = readConfig(dir);
        Map<String, HostTensor> hf = SafeTensors.read(dir.resolve("model.safetensors"));
        Map<String, HostTensor> weights = new LinkedHashMap<>();
        for (Map.Entry<String, Map.Entry<String, Boolean>> e : keyMap(c).entrySet()) {
            String key = e.getValue().getKey();
            HostTensor w = hf.containsKey(key) ? hf.get(key) : hf.get(key.replaceFirst("^transformer\\.", ""));
            if (w == null) {
                throw new IllegalArgumentException(dir.resolve("model.safetensors") + " has no tensor '" + key + "'");
            }
            weights.put(e.getKey(), e.getValue().getValue() ? transpose(w) : w);
        }
        return Gpt.fromWeights(c, weights);
    }

    /**
     * The tokenizer of a Hugging Face folder: Seed's byte vocabulary (256 bytes + its 3 special tokens, no merges)
     * comes back as bytes, anything else as byte-level BPE (which must carry Seed's special tokens).
     */
    public static Tokenizer loadTokenizer(Path dir) throws IOException {
        Path json = dir.resolve("tokenizer.json");
        if (!Files.exists(json)) {
            throw new IllegalArgumentException(dir + " has no tokenizer.json");
        }
        byte[] bytes = Files.readAllBytes(json);
        TokenizerJson.Info info = TokenizerJson.check(bytes, json.toString());
        boolean plainBytes = info.merges() == 0 && info.vocabSize() == 259
                && java.util.Arrays.equals(bytes, TokenizerJson.write(byteVocabulary()));
        return plainBytes ? new ByteTokenizer() : Tokenizer.load(dir);
    }

    /** Converts a Hugging Face folder into a Seed checkpoint folder {@code into} (config, weights, tokenizer). */
    public static Path importAsCheckpoint(Path hfDir, Path into) throws IOException {
        Tokenizer tokenizer = loadTokenizer(hfDir);
        try (Gpt model = load(hfDir)) {
            if (tokenizer.vocabSize() != model.config().vocabSize()) {
                throw new IllegalArgumentException(hfDir + ": tokenizer.json has " + tokenizer.vocabSize()
                        + " ids but config.json says vocab_size " + model.config().vocabSize());
            }
            Files.createDirectories(into);
            Checkpoints.writeModel(into, model, tokenizer);
        }
        return into;
    }

    static GptConfig readConfig(Path dir) throws IOException {
        JsonNode c = JSON.readTree(dir.resolve("config.json").toFile());
        if (!"gpt2".equals(c.path("model_type").asText("gpt2"))) {
            throw new IllegalArgumentException(dir + "/config.json: model_type '" + c.path("model_type").asText()
                    + "' is not gpt2");
        }
        if (!c.path("n_inner").isNull() && !c.path("n_inner").isMissingNode()
                && c.path("n_inner").asInt() != 4 * c.path("n_embd").asInt()) {
            throw new IllegalArgumentException(dir + "/config.json: n_inner must be 4 * n_embd (or null)");
        }
        String activation = c.path("activation_function").asText("gelu_new");
        GptConfig.Activation act = switch (activation) {
            case "gelu_new", "gelu_pytorch_tanh" -> GptConfig.Activation.GELU_TANH;
            case "gelu" -> GptConfig.Activation.GELU;
            default -> throw new IllegalArgumentException(dir + "/config.json: activation_function '" + activation
                    + "' is not supported (gelu, gelu_new)");
        };
        return new GptConfig(c.path("vocab_size").asInt(), c.path("n_positions").asInt(), c.path("n_layer").asInt(),
                c.path("n_embd").asInt(), c.path("n_head").asInt(), c.path("tie_word_embeddings").asBoolean(true), act);
    }

    /** Seed's byte tokenizer as a BPE vocabulary with no merges: ids 0..255 the bytes, then the special tokens. */
    static BpeModel byteVocabulary() {
        List<String> vocab = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            vocab.add(String.valueOf(ByteLevel.charOf(b)));
        }
        vocab.add(Tokenizer.END_OF_TEXT);
        vocab.add(Tokenizer.PROMPT);
        vocab.add(Tokenizer.RESPONSE);
        return new BpeModel(vocab, List.of());
    }

    private static HostTensor transpose(HostTensor w) {
        int rows = (int) w.shape()[0];
        int cols = (int) w.shape()[1];
        float[] t = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int col = 0; col < cols; col++) {
                t[col * rows + r] = w.data()[r * cols + col];
            }
        }
        return new HostTensor(new long[] {cols, rows}, t);
    }
}
