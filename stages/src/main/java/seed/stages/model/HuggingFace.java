package seed.stages.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.Hashes;
import seed.stages.checkpoint.HostTensor;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.tokenizer.BpeModel;
import seed.stages.tokenizer.ByteLevel;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.tokenizer.TokenizerJson;

/**
 * Hugging Face model folders in and out, for both families, so a team's own open model trains in Seed and goes back
 * to Python tools as it came.
 *
 * <p><b>GPT-2</b> ({@code GPT2LMHeadModel}): GPT-2's key names ({@code transformer.h.0.attn.c_attn.weight}, ...) and
 * its Conv1D orientation (weights stored (in, out), the transpose of torch's linear). Seed's defaults that differ
 * from GPT-2 (an untied head, exact GELU) are written as the GPT-2 config options that mean them
 * ({@code tie_word_embeddings: false} plus {@code lm_head.weight}, {@code activation_function: "gelu"}), and
 * GPT-2-style models ({@link GptConfig#gpt2Style()}) as GPT-2 itself.
 *
 * <p><b>Llama family</b> ({@code LlamaForCausalLM}, {@code MistralForCausalLM}, {@code Qwen2ForCausalLM}): Seed's
 * parameter names are Hugging Face's ({@link LlamaFamily}), so the mapping is the identity; {@link HuggingFaceConfig}
 * reads and writes {@code config.json}. Exports are {@code LlamaForCausalLM}, or {@code Qwen2ForCausalLM} when the
 * model has q/k/v biases.
 *
 * <p>Weights come from {@code model.safetensors} or shards listed in {@code model.safetensors.index.json}, in F32,
 * BF16 or F16 (widened to fp32 exactly); keys the model does not use ({@code rotary_emb.inv_freq}, GPT-2's
 * {@code attn.bias} buffers, a tied model's {@code lm_head.weight}) are skipped unread. Before any weight is read
 * the configuration is checked against the machine's memory ({@link ModelMemory}) and every key and shape against
 * the headers, so a wrong or too-large folder fails in milliseconds with a message naming the problem.
 */
public final class HuggingFace {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The tokenizer's files of a Hugging Face folder, copied as they are into checkpoints and exports. */
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "generation_config.json");

    /** Biases Hugging Face's Llama can have and Seed's cannot: refused by name rather than silently dropped. */
    private static final Pattern UNSUPPORTED_BIAS = Pattern.compile(
            "(^|\\.)layers\\.\\d+\\.(self_attn\\.o_proj|mlp\\.(gate|up|down)_proj)\\.bias$");

    private HuggingFace() {
    }

    /**
     * How to load a folder and for what: the context Seed gives the model (0 = the folder's own; real models
     * declare 4k-128k, more than a CPU trains at) and the training {@link ModelMemory} checks before loading.
     *
     * @param context   tokens of context (0 = {@code max_position_embeddings} / {@code n_positions})
     * @param batch     sequences per batch the memory estimate assumes
     * @param precision the precision the memory estimate assumes
     * @param lora      adapters the memory estimate assumes (null = every parameter trains)
     */
    public record LoadOptions(int context, int batch, Precision precision, LoraSettings lora) {

        public LoadOptions {
            precision = precision == null ? Precision.FP32 : precision;
            if (context < 0 || batch <= 0) {
                throw new IllegalArgumentException("context must be >= 0 and batch > 0, got " + context + ", " + batch);
            }
        }

        /** The folder's own context, batch 1, fp32, full training. */
        public static LoadOptions defaults() {
            return new LoadOptions(0, 1, Precision.FP32, null);
        }
    }

    /**
     * What {@link #importFolder} wrote.
     *
     * @param checkpoint the Seed checkpoint folder
     * @param config     the model's configuration
     * @param memory     the memory estimate the import was checked against
     * @param sha256     SHA-256 of the checkpoint's {@code model.safetensors}
     */
    public record Imported(Path checkpoint, GptConfig config, ModelMemory memory, String sha256) {
    }

    /** Seed parameter name -> (Hugging Face key, whether the weight is transposed: GPT-2's Conv1D). */
    static Map<String, Map.Entry<String, Boolean>> keyMap(GptConfig c) {
        Map<String, Map.Entry<String, Boolean>> keys = new LinkedHashMap<>();
        if (c.family() == Family.LLAMA) {
            for (String name : c.family().spec().parameterShapes(c).keySet()) {
                keys.put(name, Map.entry(name, false)); // Seed's Llama names are Hugging Face's
            }
            return keys;
        }
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

    // ---- export ---------------------------------------------------------------------------------------------------

    /** Writes {@code model} and {@code tokenizer} as a Hugging Face folder in fp32 (see the five-argument form). */
    public static void export(Gpt model, Tokenizer tokenizer, Path outDir) throws IOException {
        export(model, tokenizer, outDir, SafeTensors.Dtype.F32, null);
    }

    /**
     * Writes {@code model} as a Hugging Face folder: {@code config.json}, {@code model.safetensors} in {@code dtype}
     * (F32, or BF16 as most models ship) and the tokenizer. A model with LoRA adapters is written merged
     * ({@link Gpt#mergedWeights()}: W + scale B A, PEFT's {@code merge_and_unload}), since a full model folder has
     * no place for adapters. The tokenizer's files ({@link #TOKENIZER_FILES}) are copied as they are from
     * {@code tokenizerSource} (the checkpoint the model came from; null = none), so an imported model's tokenizer,
     * chat template and generation settings go back out byte for byte; a missing {@code tokenizer.json} is written
     * from {@code tokenizer}.
     */
    public static void export(Gpt model, Tokenizer tokenizer, Path outDir, SafeTensors.Dtype dtype,
            Path tokenizerSource) throws IOException {
        Files.createDirectories(outDir);
        GptConfig c = model.config();
        Map<String, HostTensor> weights = model.mergedWeights();
        Map<String, HostTensor> out = new LinkedHashMap<>();
        keyMap(c).forEach((seedName, hf) -> {
            HostTensor w = weights.get(seedName);
            out.put(hf.getKey(), hf.getValue() ? transpose(w) : w);
        });
        SafeTensors.write(outDir.resolve("model.safetensors"), out, Map.of("format", "pt"), dtype);
        String torchDtype = switch (dtype) {
            case F32 -> "float32";
            case BF16 -> "bfloat16";
            case F16 -> "float16";
        };
        ObjectNode config = c.family() == Family.LLAMA
                ? HuggingFaceConfig.llamaJson(c, torchDtype, tokenizer.endOfTextId())
                : gpt2Json(c, tokenizer, torchDtype);
        JSON.writeValue(outDir.resolve("config.json").toFile(), config);
        writeTokenizer(tokenizer, tokenizerSource, outDir);
    }

    private static ObjectNode gpt2Json(GptConfig c, Tokenizer tokenizer, String torchDtype) {
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
        config.put("torch_dtype", torchDtype);
        return config;
    }

    /**
     * Copies {@code source}'s tokenizer files into {@code outDir} as they are; where that leaves no
     * {@code tokenizer.json}, writes {@code tokenizer}'s (Seed's byte tokenizer as a byte vocabulary).
     */
    private static void writeTokenizer(Tokenizer tokenizer, Path source, Path outDir) throws IOException {
        if (source != null) {
            for (String name : TOKENIZER_FILES) {
                Path file = source.resolve(name);
                if (Files.isRegularFile(file) && !file.toAbsolutePath().equals(outDir.resolve(name).toAbsolutePath())) {
                    Files.copy(file, outDir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        if (!Files.exists(outDir.resolve("tokenizer.json"))) {
            if (tokenizer instanceof ByteTokenizer) {
                Files.write(outDir.resolve("tokenizer.json"), TokenizerJson.write(byteVocabulary()));
            } else {
                tokenizer.save(outDir);
            }
        }
    }

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

    // ---- import ---------------------------------------------------------------------------------------------------

    /** Reads a Hugging Face folder as a Seed model with {@link LoadOptions#defaults()}. */
    public static Gpt load(Path dir) throws IOException {
        return load(dir, LoadOptions.defaults());
    }

    /**
     * Reads a Hugging Face folder (GPT-2 keys with or without the {@code transformer.} prefix; Llama-family keys as
     * they are) as a Seed model at {@code options.context()}; refuses, before reading any weight, a model whose
     * training (per {@code options}) does not fit this machine's memory.
     */
    public static Gpt load(Path dir, LoadOptions options) throws IOException {
        GptConfig config = HuggingFaceConfig.read(dir, options.context());
        checkMemory(dir, config, options);
        return Gpt.fromWeights(config, readWeights(dir, config));
    }

    /** The memory estimate of training {@code config} per {@code options}; throws when it does not fit. */
    static ModelMemory checkMemory(Path dir, GptConfig config, LoadOptions options) {
        ModelMemory memory = ModelMemory.estimate(config, options.batch(), config.context(), options.precision(),
                options.lora());
        memory.check(dir + " (" + config.describe() + ", " + String.format("%,d", config.parameterCount())
                + " parameters, batch " + options.batch() + ")");
        return memory;
    }

    /**
     * The weights of the folder {@code dir} under Seed's names, for {@code config} (from its config.json): every key
     * the model needs is looked up in the safetensors headers and its shape checked before any data is read.
     */
    static Map<String, HostTensor> readWeights(Path dir, GptConfig config) throws IOException {
        Map<Path, Map<String, SafeTensors.Entry>> files = weightFiles(dir);
        Map<String, Path> fileOf = new LinkedHashMap<>();
        Map<String, SafeTensors.Entry> entries = new LinkedHashMap<>();
        files.forEach((file, header) -> header.forEach((key, entry) -> {
            fileOf.putIfAbsent(key, file);
            entries.putIfAbsent(key, entry);
        }));
        if (config.family() == Family.LLAMA) {
            for (String key : entries.keySet()) {
                if (UNSUPPORTED_BIAS.matcher(key).find()) {
                    throw new IllegalArgumentException(dir + ": tensor '" + key + "' is a bias Seed's Llama family "
                            + "does not implement (only q/k/v biases are: Qwen2, or attention_bias without an o_proj "
                            + "bias)");
                }
            }
        }
        Map<String, long[]> shapes = Gpt.parameterShapes(config);
        Map<String, String> found = new LinkedHashMap<>(); // Seed name -> key in the files
        for (Map.Entry<String, Map.Entry<String, Boolean>> e : keyMap(config).entrySet()) {
            String key = e.getValue().getKey();
            String actual = entries.containsKey(key) ? key : key.replaceFirst("^transformer\\.", "");
            SafeTensors.Entry entry = entries.get(actual);
            if (entry == null) {
                throw new IllegalArgumentException(dir + ": no tensor '" + key + "' in " + names(files.keySet())
                        + " (a model of " + config.describe() + " needs it)");
            }
            long[] expected = shapes.get(e.getKey()).clone();
            if (e.getValue().getValue()) {
                expected = new long[] {expected[1], expected[0]};
            }
            boolean positions = e.getKey().equals("wpe.weight") && entry.shape().length == 2
                    && entry.shape()[0] >= expected[0] && entry.shape()[1] == expected[1]; // longer: cut to context
            if (!positions && !Arrays.equals(entry.shape(), expected)) {
                throw new IllegalArgumentException(dir + ": tensor '" + actual + "' has shape "
                        + Arrays.toString(entry.shape()) + " but config.json (" + config.describe() + ") means "
                        + Arrays.toString(expected));
            }
            found.put(e.getKey(), actual);
        }
        Set<String> wanted = new LinkedHashSet<>(found.values());
        Map<String, HostTensor> read = new LinkedHashMap<>();
        for (Path file : files.keySet()) {
            read.putAll(SafeTensors.read(file, key -> wanted.contains(key) && fileOf.get(key).equals(file)));
        }
        Map<String, HostTensor> weights = new LinkedHashMap<>();
        for (Map.Entry<String, Map.Entry<String, Boolean>> e : keyMap(config).entrySet()) {
            HostTensor w = read.remove(found.get(e.getKey()));
            if (e.getKey().equals("wpe.weight") && w.shape()[0] > config.context()) {
                w = new HostTensor(new long[] {config.context(), w.shape()[1]},
                        Arrays.copyOf(w.data(), (int) (config.context() * w.shape()[1])));
            }
            weights.put(e.getKey(), e.getValue().getValue() ? transpose(w) : w);
        }
        return weights;
    }

    /**
     * The weight files of {@code dir} with their headers: the shards {@code model.safetensors.index.json}'s
     * weight_map names (in first-mention order), or {@code model.safetensors}.
     */
    static Map<Path, Map<String, SafeTensors.Entry>> weightFiles(Path dir) throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        List<Path> files = new ArrayList<>();
        if (Files.exists(index)) {
            JsonNode map = JSON.readTree(index.toFile()).path("weight_map");
            if (!map.isObject() || map.isEmpty()) {
                throw new IllegalArgumentException(index + " has no weight_map");
            }
            for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
                Path shard = dir.resolve(it.next().asText());
                if (!shard.normalize().startsWith(dir.normalize())) {
                    throw new IllegalArgumentException(index + " names a file outside the folder: " + shard);
                }
                if (!files.contains(shard)) {
                    if (!Files.exists(shard)) {
                        throw new IllegalArgumentException(index + " names " + shard.getFileName()
                                + ", which is missing");
                    }
                    files.add(shard);
                }
            }
        } else if (Files.exists(dir.resolve("model.safetensors"))) {
            files.add(dir.resolve("model.safetensors"));
        } else {
            throw new IllegalArgumentException(dir + " has neither model.safetensors nor model.safetensors.index.json"
                    + " (pytorch_model.bin is not read: save the model with safe_serialization=True)");
        }
        Map<Path, Map<String, SafeTensors.Entry>> out = new LinkedHashMap<>();
        for (Path file : files) {
            out.put(file, SafeTensors.entries(file));
        }
        return out;
    }

    private static String names(Set<Path> files) {
        return files.stream().map(p -> p.getFileName().toString()).toList().toString();
    }

    /**
     * The tokenizer of a Hugging Face folder: Seed's byte vocabulary (256 bytes + its 3 special tokens, no merges)
     * comes back as bytes, anything else through {@link Tokenizer#load}.
     */
    public static Tokenizer loadTokenizer(Path dir) throws IOException {
        Path json = dir.resolve("tokenizer.json");
        if (!Files.exists(json)) {
            throw new IllegalArgumentException(dir + " has no tokenizer.json");
        }
        byte[] bytes = Files.readAllBytes(json);
        // Seed's own byte vocabulary, exported: the plain byte tokenizer; anything else is the folder's own tokenizer
        // (Seed's BPE when it has Seed's special tokens, else Hugging Face's library reading tokenizer.json as it is)
        boolean plainBytes = java.util.Arrays.equals(bytes, TokenizerJson.write(byteVocabulary()));
        return plainBytes ? new ByteTokenizer() : Tokenizer.load(dir);
    }

    /** Converts a Hugging Face folder into a Seed checkpoint folder {@code into} with {@link LoadOptions#defaults()}. */
    public static Path importAsCheckpoint(Path hfDir, Path into) throws IOException {
        return importFolder(hfDir, into, LoadOptions.defaults()).checkpoint();
    }

    /**
     * Converts a Hugging Face folder into a Seed checkpoint folder {@code into} (config.json, fp32
     * model.safetensors, the folder's tokenizer files as they are), written atomically
     * ({@link Checkpoints#replaceFolder}). In order: config.json is read and checked, the memory estimate is checked,
     * the tokenizer loads (its ids must fit the embedding: real models often have spare rows), then the weights.
     */
    public static Imported importFolder(Path hfDir, Path into, LoadOptions options) throws IOException {
        GptConfig config = HuggingFaceConfig.read(hfDir, options.context());
        ModelMemory memory = checkMemory(hfDir, config, options);
        Tokenizer tokenizer = loadTokenizer(hfDir);
        if (tokenizer.vocabSize() > config.vocabSize()) {
            throw new IllegalArgumentException(hfDir + ": tokenizer.json has " + tokenizer.vocabSize()
                    + " ids but config.json says vocab_size " + config.vocabSize());
        }
        try (Gpt model = Gpt.fromWeights(config, readWeights(hfDir, config))) {
            Checkpoints.replaceFolder(into, folder -> {
                Checkpoints.writeModel(folder, model, tokenizer);
                for (String name : TOKENIZER_FILES) {
                    // Seed's byte tokenizer is marked by the absence of tokenizer.json: keep that form
                    boolean keepBytes = name.equals("tokenizer.json") && tokenizer instanceof ByteTokenizer;
                    if (Files.isRegularFile(hfDir.resolve(name)) && !keepBytes) {
                        Files.copy(hfDir.resolve(name), folder.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            });
        }
        return new Imported(into, config, memory, Hashes.sha256(into.resolve(Checkpoints.MODEL)));
    }

    /** The configuration a Hugging Face folder loads as (see {@link HuggingFaceConfig#read}). */
    static GptConfig readConfig(Path dir) throws IOException {
        return HuggingFaceConfig.read(dir, 0);
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
