package seed.stages.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.HostTensor;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.cli.CliErrors;
import seed.stages.cli.ExportCommand;
import seed.stages.cli.ImportCommand;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.tokenizer.TokenizerJson;

/**
 * Hugging Face Llama-family folders, written here in Hugging Face's own layout with random weights (key names and
 * config fields spelled out independently of Seed's code): a Llama folder (GQA 4:2, untied head), a Qwen2-style
 * folder (q/k/v biases, tied, no lm_head key, head_dim other than hidden / heads) and a sharded bf16 Mistral folder
 * (two shards + index, tied with a redundant lm_head). Each imports with its weights in place, and its logits equal
 * the op-by-op Llama reference; export -> import is bit-exact; unsupported options and a model too large for the
 * machine are refused by name before any weight is read.
 */
class HuggingFaceLlamaTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long[] TOKENS = {3, 7, 1, 9, 200, 5, 13, 2, 30, 258, 4, 8, 6, 6, 2, 19, 23, 1, 0, 5, 7, 9,
        12, 40};

    /** One test model: its Hugging Face config fields and the layout flags its keys follow. */
    record Spec(String modelType, int vocab, int context, int layers, int hidden, int heads, int kvHeads, int headDim,
            int ffn, double theta, double eps, boolean bias, boolean tied) {
    }

    static final Spec LLAMA = new Spec("llama", 259, 16, 2, 32, 4, 2, 8, 48, 500_000, 1e-5, false, false);
    static final Spec QWEN2 = new Spec("qwen2", 259, 16, 2, 24, 4, 2, 8, 40, 1_000_000, 1e-6, true, true);
    static final Spec MISTRAL = new Spec("mistral", 259, 16, 2, 32, 4, 2, 8, 64, 10_000, 1e-5, false, true);

    /** LlamaForCausalLM's state-dict keys and (out, in) shapes, as modeling_llama.py names them. */
    static Map<String, long[]> hfKeys(Spec s) {
        Map<String, long[]> k = new LinkedHashMap<>();
        long q = (long) s.heads * s.headDim;
        long kv = (long) s.kvHeads * s.headDim;
        k.put("model.embed_tokens.weight", new long[] {s.vocab, s.hidden});
        for (int i = 0; i < s.layers; i++) {
            String p = "model.layers." + i + ".";
            k.put(p + "self_attn.q_proj.weight", new long[] {q, s.hidden});
            k.put(p + "self_attn.k_proj.weight", new long[] {kv, s.hidden});
            k.put(p + "self_attn.v_proj.weight", new long[] {kv, s.hidden});
            if (s.bias) {
                k.put(p + "self_attn.q_proj.bias", new long[] {q});
                k.put(p + "self_attn.k_proj.bias", new long[] {kv});
                k.put(p + "self_attn.v_proj.bias", new long[] {kv});
            }
            k.put(p + "self_attn.o_proj.weight", new long[] {s.hidden, q});
            k.put(p + "mlp.gate_proj.weight", new long[] {s.ffn, s.hidden});
            k.put(p + "mlp.up_proj.weight", new long[] {s.ffn, s.hidden});
            k.put(p + "mlp.down_proj.weight", new long[] {s.hidden, s.ffn});
            k.put(p + "input_layernorm.weight", new long[] {s.hidden});
            k.put(p + "post_attention_layernorm.weight", new long[] {s.hidden});
        }
        k.put("model.norm.weight", new long[] {s.hidden});
        if (!s.tied) {
            k.put("lm_head.weight", new long[] {s.vocab, s.hidden});
        }
        return k;
    }

    /** Random weights large enough that a swapped convention shows: matrices N(0, 0.2), gains 1 +- 0.3, biases. */
    static Map<String, HostTensor> randomWeights(Spec s, long seed, boolean bf16Exact) {
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, HostTensor> w = new LinkedHashMap<>();
        hfKeys(s).forEach((name, shape) -> {
            float[] data = new float[FamilySpec.size(shape)];
            for (int i = 0; i < data.length; i++) {
                double g = random.nextGaussian();
                float v = (float) (shape.length == 2 ? 0.2 * g : name.endsWith("bias") ? 0.3 * g : 1 + 0.3 * g);
                data[i] = bf16Exact ? SafeTensors.fromBf16(SafeTensors.toBf16(v)) : v;
            }
            w.put(name, new HostTensor(shape, data));
        });
        return w;
    }

    /** config.json as Hugging Face writes it for {@code s}. */
    static ObjectNode config(Spec s) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add(switch (s.modelType) {
            case "qwen2" -> "Qwen2ForCausalLM";
            case "mistral" -> "MistralForCausalLM";
            default -> "LlamaForCausalLM";
        });
        c.put("model_type", s.modelType);
        c.put("vocab_size", s.vocab);
        c.put("max_position_embeddings", s.context);
        c.put("num_hidden_layers", s.layers);
        c.put("hidden_size", s.hidden);
        c.put("num_attention_heads", s.heads);
        c.put("num_key_value_heads", s.kvHeads);
        if (s.headDim != s.hidden / s.heads) {
            c.put("head_dim", s.headDim);
        }
        c.put("intermediate_size", s.ffn);
        c.put("hidden_act", "silu");
        c.put("rope_theta", s.theta);
        c.put("rms_norm_eps", s.eps);
        c.put("tie_word_embeddings", s.tied);
        c.putNull("rope_scaling");
        c.put("torch_dtype", "float32");
        if (s.modelType.equals("mistral")) {
            c.put("sliding_window", 4096);
        }
        if (s.modelType.equals("qwen2")) {
            c.put("use_sliding_window", false);
            c.put("sliding_window", 8); // unused without use_sliding_window
        }
        return c;
    }

    /** Writes a Hugging Face folder: config.json, weights (one file or shards + index), tokenizer files. */
    static Path writeFolder(Path dir, ObjectNode config, Map<String, HostTensor> weights, SafeTensors.Dtype dtype,
            int shards) throws Exception {
        Files.createDirectories(dir);
        JSON.writeValue(dir.resolve("config.json").toFile(), config);
        if (shards == 1) {
            SafeTensors.write(dir.resolve("model.safetensors"), weights, Map.of("format", "pt"), dtype);
        } else {
            ObjectNode index = JSON.createObjectNode();
            index.putObject("metadata").put("total_size", 0);
            ObjectNode map = index.putObject("weight_map");
            List<String> keys = List.copyOf(weights.keySet());
            for (int k = 0; k < shards; k++) {
                String file = String.format("model-%05d-of-%05d.safetensors", k + 1, shards);
                Map<String, HostTensor> part = new LinkedHashMap<>();
                for (int i = k * keys.size() / shards; i < (k + 1) * keys.size() / shards; i++) {
                    part.put(keys.get(i), weights.get(keys.get(i)));
                    map.put(keys.get(i), file);
                }
                SafeTensors.write(dir.resolve(file), part, Map.of("format", "pt"), dtype);
            }
            JSON.writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
        }
        Files.write(dir.resolve("tokenizer.json"), TokenizerJson.write(HuggingFace.byteVocabulary()));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 16, \"chat_template\": \"x\"}");
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": 256}");
        return dir;
    }

    private static float[] logits(Gpt model) {
        try (NDManager m = NDManager.newBaseManager()) {
            return model.forward(m.create(TOKENS, new Shape(2, 12))).toFloatArray();
        }
    }

    private static float[] reference(Gpt model) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray tokens = m.create(TOKENS, new Shape(2, 12));
            return LlamaReferenceMathTest.reference(model, model.config(), tokens, null).toFloatArray();
        }
    }

    /** Imports {@code folder}, checks weights, config and logits against the reference, and export -> import. */
    private static void importsExactly(Path folder, Spec s, Map<String, HostTensor> written, Path work)
            throws Exception {
        HuggingFace.Imported imported = HuggingFace.importFolder(folder, work.resolve("ckpt"),
                HuggingFace.LoadOptions.defaults());
        GptConfig c = imported.config();
        assertEquals(Family.LLAMA, c.family());
        assertEquals(s.kvHeads, c.kvHeads());
        assertEquals(s.headDim, c.headDim());
        assertEquals(s.ffn, c.ffn());
        assertEquals(s.theta, c.ropeTheta());
        assertEquals(s.eps, c.normEps());
        assertEquals(s.bias, c.qkvBias());
        assertEquals(s.tied, c.tiedEmbeddings());
        assertEquals(s.context, c.context());
        assertEquals(64, imported.sha256().length());
        for (String name : List.of("tokenizer_config.json", "generation_config.json")) {
            assertArrayEquals(Files.readAllBytes(folder.resolve(name)), Files.readAllBytes(work.resolve("ckpt/" + name)));
        }
        try (Gpt model = Checkpoints.loadModel(work.resolve("ckpt"))) {
            Map<String, HostTensor> loaded = model.weights();
            assertEquals(hfKeys(s).keySet(), loaded.keySet());
            loaded.forEach((name, w) -> assertArrayEquals(written.get(name).data(), w.data(), 0f, name));
            float[] ours = logits(model);
            ReferenceComparison.assertClose("logits of " + s.modelType, reference(model), ours, null, 1);

            // export -> import: the same keys, bit-identical weights, identical logits
            Tokenizer tokenizer = Checkpoints.loadTokenizer(work.resolve("ckpt"));
            Path exported = work.resolve("export");
            HuggingFace.export(model, tokenizer, exported, SafeTensors.Dtype.F32, work.resolve("ckpt"));
            JsonNode json = JSON.readTree(exported.resolve("config.json").toFile());
            assertEquals(s.bias ? "Qwen2ForCausalLM" : "LlamaForCausalLM", json.get("architectures").get(0).asText());
            assertEquals(s.bias ? "qwen2" : "llama", json.get("model_type").asText());
            assertEquals(s.kvHeads, json.get("num_key_value_heads").asInt());
            assertEquals(s.headDim, json.get("head_dim").asInt());
            assertEquals(s.tied, json.get("tie_word_embeddings").asBoolean());
            assertEquals("float32", json.get("torch_dtype").asText());
            assertEquals(hfKeys(s).keySet(), SafeTensors.read(exported.resolve("model.safetensors")).keySet());
            assertArrayEquals(Files.readAllBytes(folder.resolve("tokenizer_config.json")),
                    Files.readAllBytes(exported.resolve("tokenizer_config.json")));
            try (Gpt back = HuggingFace.load(exported)) {
                assertEquals(c, back.config());
                back.weights().forEach((name, w) -> assertArrayEquals(loaded.get(name).data(), w.data(), 0f, name));
                assertArrayEquals(ours, logits(back), 0f);
            }

            // bf16 export: every weight rounded to nearest-even bf16, read back exactly as that
            Path half = work.resolve("export-bf16");
            HuggingFace.export(model, tokenizer, half, SafeTensors.Dtype.BF16, work.resolve("ckpt"));
            assertEquals("bfloat16", JSON.readTree(half.resolve("config.json").toFile()).get("torch_dtype").asText());
            assertEquals("BF16", SafeTensors.entries(half.resolve("model.safetensors")).get("model.norm.weight").dtype());
            try (Gpt back = HuggingFace.load(half)) {
                back.weights().forEach((name, w) -> {
                    float[] expected = loaded.get(name).data().clone();
                    for (int i = 0; i < expected.length; i++) {
                        expected[i] = SafeTensors.fromBf16(SafeTensors.toBf16(expected[i]));
                    }
                    assertArrayEquals(expected, w.data(), 0f, name);
                });
            }
        }
    }

    @Test
    void llamaFolderWithGroupedQueryAttentionAndUntiedHeadImports(@TempDir Path dir) throws Exception {
        Map<String, HostTensor> weights = randomWeights(LLAMA, 1, false);
        Map<String, HostTensor> withExtra = new LinkedHashMap<>(weights);
        // a buffer older transformers versions saved: ignored
        withExtra.put("model.layers.0.self_attn.rotary_emb.inv_freq", new HostTensor(new long[] {4}, new float[4]));
        Path folder = writeFolder(dir.resolve("hf"), config(LLAMA), withExtra, SafeTensors.Dtype.F32, 1);
        importsExactly(folder, LLAMA, weights, dir);
    }

    @Test
    void qwen2FolderWithBiasesAndTiedEmbeddingsImports(@TempDir Path dir) throws Exception {
        Map<String, HostTensor> weights = randomWeights(QWEN2, 2, false);
        assertFalse(weights.containsKey("lm_head.weight"));
        Path folder = writeFolder(dir.resolve("hf"), config(QWEN2), weights, SafeTensors.Dtype.F32, 1);
        importsExactly(folder, QWEN2, weights, dir);
    }

    @Test
    void shardedBf16MistralFolderImports(@TempDir Path dir) throws Exception {
        Map<String, HostTensor> weights = randomWeights(MISTRAL, 3, true);
        Map<String, HostTensor> withHead = new LinkedHashMap<>(weights);
        withHead.put("lm_head.weight", weights.get("model.embed_tokens.weight")); // tied, saved anyway: ignored
        Path folder = writeFolder(dir.resolve("hf"), config(MISTRAL), withHead, SafeTensors.Dtype.BF16, 2);
        assertEquals("BF16", SafeTensors.entries(folder.resolve("model-00002-of-00002.safetensors"))
                .get("model.norm.weight").dtype());
        importsExactly(folder, MISTRAL, weights, dir);
    }

    @Test
    void aSmallerContextIsAcceptedAndALargerOneRefused(@TempDir Path dir) throws Exception {
        Path folder = writeFolder(dir.resolve("hf"), config(LLAMA), randomWeights(LLAMA, 4, false),
                SafeTensors.Dtype.F32, 1);
        try (Gpt full = HuggingFace.load(folder);
                Gpt short8 = HuggingFace.load(folder, new HuggingFace.LoadOptions(12, 1, Precision.FP32, null))) {
            assertEquals(12, short8.config().context());
            assertArrayEquals(logits(full), logits(short8), 0f);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HuggingFace.load(folder,
                new HuggingFace.LoadOptions(32, 1, Precision.FP32, null)));
        assertTrue(e.getMessage().contains("max_position_embeddings"), e.getMessage());
    }

    @Test
    void optionsSeedDoesNotImplementAreRefusedByName(@TempDir Path dir) throws Exception {
        Map<String, HostTensor> weights = randomWeights(LLAMA, 5, false);
        ObjectNode yarn = config(LLAMA);
        yarn.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0);
        assertRefused(writeFolder(dir.resolve("yarn"), yarn, weights, SafeTensors.Dtype.F32, 1), "yarn");
        ObjectNode linear = config(LLAMA);
        linear.putObject("rope_scaling").put("type", "linear").put("factor", 2.0);
        assertRefused(writeFolder(dir.resolve("linear"), linear, weights, SafeTensors.Dtype.F32, 1), "linear");
        ObjectNode gelu = config(LLAMA).put("hidden_act", "gelu");
        assertRefused(writeFolder(dir.resolve("gelu"), gelu, weights, SafeTensors.Dtype.F32, 1), "gelu");
        ObjectNode window = config(MISTRAL).put("sliding_window", 8);
        Path windowed = writeFolder(dir.resolve("window"), window, randomWeights(MISTRAL, 6, false),
                SafeTensors.Dtype.F32, 1);
        assertRefused(windowed, "sliding_window 8");
        try (Gpt within = HuggingFace.load(windowed, new HuggingFace.LoadOptions(8, 1, Precision.FP32, null))) {
            assertEquals(8, within.config().context()); // a context inside the window is the same math
        }
        ObjectNode unknown = config(LLAMA).put("model_type", "gemma");
        assertRefused(writeFolder(dir.resolve("gemma"), unknown, weights, SafeTensors.Dtype.F32, 1), "gemma");

        // attention_bias: q/k/v biases are read, an o_proj bias is refused by name
        Map<String, HostTensor> biased = randomWeights(new Spec("llama", 259, 16, 2, 32, 4, 2, 8, 48, 500_000, 1e-5,
                true, false), 7, false);
        biased.put("model.layers.1.self_attn.o_proj.bias", new HostTensor(new long[] {32}, new float[32]));
        ObjectNode attentionBias = config(LLAMA).put("attention_bias", true);
        assertRefused(writeFolder(dir.resolve("obias"), attentionBias, biased, SafeTensors.Dtype.F32, 1),
                "model.layers.1.self_attn.o_proj.bias");

        Map<String, HostTensor> missing = new LinkedHashMap<>(weights);
        missing.remove("model.layers.1.mlp.up_proj.weight");
        assertRefused(writeFolder(dir.resolve("missing"), config(LLAMA), missing, SafeTensors.Dtype.F32, 1),
                "model.layers.1.mlp.up_proj.weight");
    }

    private static void assertRefused(Path folder, String named) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HuggingFace.load(folder));
        assertTrue(e.getMessage().contains(named), "should name '" + named + "': " + e.getMessage());
    }

    @Test
    void aModelTooLargeForMemoryIsRefusedBeforeItsWeightsAreRead(@TempDir Path dir) throws Exception {
        // a 405B-class shape; the folder has no weights and no tokenizer, so only a refusal that comes first passes
        ObjectNode huge = config(LLAMA).put("vocab_size", 128256).put("hidden_size", 16384)
                .put("num_hidden_layers", 126).put("num_attention_heads", 128).put("num_key_value_heads", 8)
                .put("intermediate_size", 53248).put("max_position_embeddings", 131072);
        huge.remove("head_dim");
        Path folder = Files.createDirectories(dir.resolve("huge"));
        JSON.writeValue(folder.resolve("config.json").toFile(), huge);
        for (HuggingFace.LoadOptions options : List.of(HuggingFace.LoadOptions.defaults(),
                new HuggingFace.LoadOptions(256, 1, Precision.BF16, new LoraSettings(8, 0, 0, List.of("q", "v"), false)))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> HuggingFace.importFolder(folder, dir.resolve("out"), options));
            for (String part : List.of("weights", "gradients", "AdamW moments", "activations", "GiB", "available")) {
                assertTrue(e.getMessage().contains(part), "should name '" + part + "': " + e.getMessage());
            }
        }
        assertFalse(Files.exists(dir.resolve("out")));
    }

    @Test
    void exportOfAModelWithAdaptersIsMerged(@TempDir Path dir) throws Exception {
        GptConfig c = GptConfig.llama(259, 16, 2, 32, 4, 2, 48);
        LoraSettings lora = new LoraSettings(4, 8, 0, List.of("q", "k", "v", "o", "gate", "up", "down"), false);
        try (Gpt model = Gpt.initialize(c, 3).addAdapters(lora, 4)) {
            SplittableRandom random = new SplittableRandom(5);
            Map<String, HostTensor> adapters = new LinkedHashMap<>();
            model.adapterWeights().forEach((name, w) -> {
                float[] data = w.data().clone();
                for (int i = 0; i < data.length; i++) {
                    data[i] += (float) (0.05 * random.nextGaussian()); // B leaves zero: the adapters matter
                }
                adapters.put(name, new HostTensor(w.shape(), data));
            });
            model.loadAdapterWeights(adapters);
            float[] adapted = logits(model);
            float[] base;
            try (Gpt without = model.withoutAdapters()) {
                base = logits(without);
            }
            HuggingFace.export(model, new seed.stages.tokenizer.ByteTokenizer(), dir.resolve("merged"));
            assertEquals(hfKeys(new Spec("llama", 259, 16, 2, 32, 4, 2, 8, 48, 10_000, 1e-5, false, false)).keySet(),
                    SafeTensors.read(dir.resolve("merged/model.safetensors")).keySet());
            try (Gpt merged = HuggingFace.load(dir.resolve("merged"))) {
                float[] ours = logits(merged);
                ReferenceComparison.assertClose("merged logits", adapted, ours, null, 1);
                double moved = 0;
                for (int i = 0; i < base.length; i++) {
                    moved = Math.max(moved, Math.abs(base[i] - adapted[i]));
                }
                assertTrue(moved > 1e-3, "the adapters should change the logits: " + moved);
            }
        }
    }

    @Test
    void realGpt2KeysWithoutPrefixAndBuffersLoadAtASmallerContext(@TempDir Path dir) throws Exception {
        GptConfig c = new GptConfig(259, 16, 2, 32, 4).gpt2Style();
        try (Gpt model = Gpt.initialize(c, 6)) {
            Path exported = dir.resolve("gpt2");
            HuggingFace.export(model, new seed.stages.tokenizer.ByteTokenizer(), exported);
            // GPT-2's own files: no "transformer." prefix, causal-mask buffers, bf16 shards are read the same way
            Map<String, HostTensor> renamed = new LinkedHashMap<>();
            SafeTensors.read(exported.resolve("model.safetensors"))
                    .forEach((k, v) -> renamed.put(k.replaceFirst("^transformer\\.", ""), v));
            renamed.put("h.0.attn.bias", new HostTensor(new long[] {1, 1, 16, 16}, new float[256]));
            SafeTensors.write(exported.resolve("model.safetensors"), renamed, Map.of("format", "pt"));
            try (Gpt back = HuggingFace.load(exported, new HuggingFace.LoadOptions(12, 1, Precision.FP32, null))) {
                assertEquals(12, back.config().context());
                assertArrayEquals(new long[] {12, 32}, back.weights().get("wpe.weight").shape());
                assertArrayEquals(logits(model), logits(back), 0f);
            }
        }
    }

    @Test
    void memoryEstimateFollowsItsFormula() {
        GptConfig c = GptConfig.llama(1000, 64, 2, 32, 4, 2, 48);
        long p = c.parameterCount();
        ModelMemory full = ModelMemory.estimate(c, 2, 64, Precision.FP32, null);
        assertEquals(4 * p, full.weights());
        assertEquals(4 * p, full.gradients());
        assertEquals(8 * p, full.moments());
        long perToken = 4L * (4 * 32 + 5 * 32 + 4 * 48) * 2 + 4L * 3 * 1000;
        assertEquals(2L * 64 * perToken, full.activations());
        LoraSettings lora = new LoraSettings(4, 0, 0, List.of("q", "v"), false);
        ModelMemory adapters = ModelMemory.estimate(c, 2, 64, Precision.FP32, lora);
        long adapterParameters = 2L * (4 * (32 + 32) + 4 * (32 + 16)); // per layer: q (32 x 32), v (16 x 32)
        assertEquals(4 * adapterParameters, adapters.gradients());
        assertEquals(8 * adapterParameters, adapters.moments());
        assertThrows(IllegalArgumentException.class, () -> full.check("m", full.total(), Long.MAX_VALUE));
        full.check("m", 2 * full.total(), Long.MAX_VALUE);
        IllegalArgumentException heap = assertThrows(IllegalArgumentException.class,
                () -> full.check("m", Long.MAX_VALUE, 10));
        assertTrue(heap.getMessage().contains("-Xmx"), heap.getMessage());
    }

    @Test
    void bf16RoundsToNearestEvenAndWidensExactly() {
        assertEquals(1.0f, SafeTensors.fromBf16(SafeTensors.toBf16(1.0f)));
        // 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even one (1)
        assertEquals(1.0f, SafeTensors.fromBf16(SafeTensors.toBf16(1.0f + 0x1p-8f)));
        assertEquals(1.0f + 0x1p-6f, SafeTensors.fromBf16(SafeTensors.toBf16(1.0f + 0x1p-7f + 0x1p-8f)));
        assertEquals(1.0f + 0x1p-7f, SafeTensors.fromBf16(SafeTensors.toBf16(1.0f + 0x1p-7f + 0x1p-9f)));
        assertTrue(Float.isNaN(SafeTensors.fromBf16(SafeTensors.toBf16(Float.NaN))));
        assertEquals(Float.POSITIVE_INFINITY, SafeTensors.fromBf16(SafeTensors.toBf16(Float.POSITIVE_INFINITY)));
    }

    @Test
    void f16TensorsReadExactly(@TempDir Path dir) throws Exception {
        float[] values = {0f, 1f, -2.5f, 65504f, 0x1p-24f, 0.333251953125f};
        Map<String, HostTensor> t = Map.of("x", new HostTensor(new long[] {2, 3}, values));
        SafeTensors.write(dir.resolve("h.safetensors"), t, null, SafeTensors.Dtype.F16);
        assertEquals("F16", SafeTensors.entries(dir.resolve("h.safetensors")).get("x").dtype());
        assertArrayEquals(values, SafeTensors.read(dir.resolve("h.safetensors")).get("x").data(), 0f);
    }

    @Test
    void importAndExportCommands(@TempDir Path dir) throws Exception {
        Path folder = writeFolder(dir.resolve("hf"), config(LLAMA), randomWeights(LLAMA, 8, false),
                SafeTensors.Dtype.F32, 1);
        String out = run(new ImportCommand(), "--from-hf", folder.toString(), "--out", dir.resolve("base").toString(),
                "--context", "12");
        assertTrue(out.contains("family=llama"), out);
        assertTrue(out.contains("parameters=" + GptConfig.llama(259, 12, 2, 32, 4, 2, 48).parameterCount()), out);
        assertTrue(out.contains("context=12"), out);
        assertTrue(out.matches("(?s).*sha256=[0-9a-f]{64}.*"), out);
        assertTrue(out.contains("memory_estimate=weights "), out);
        try (Gpt base = Checkpoints.loadModel(dir.resolve("base"))) {
            assertEquals(12, base.config().context());
        }
        assertFalse(Files.list(dir).anyMatch(p -> p.getFileName().toString().startsWith(".incomplete")));
        String exported = run(new ExportCommand(), "--model", dir.resolve("base").toString(), "--out",
                dir.resolve("exported").toString(), "--dtype", "bf16");
        assertTrue(exported.contains("dtype=bf16"), exported);
        assertEquals("BF16", SafeTensors.entries(dir.resolve("exported/model.safetensors")).get("lm_head.weight").dtype());

        // refused: --out holding something that is not a checkpoint
        Files.createDirectories(dir.resolve("notes"));
        Files.writeString(dir.resolve("notes/keep.txt"), "mine");
        CommandLine cli = new CommandLine(new ImportCommand());
        cli.setExecutionExceptionHandler(new CliErrors());
        java.io.StringWriter err = new java.io.StringWriter();
        cli.setErr(new java.io.PrintWriter(err, true));
        assertEquals(1, cli.execute("--from-hf", folder.toString(), "--out", dir.resolve("notes").toString()));
        assertTrue(err.toString().contains("not a checkpoint folder"), err.toString());
        assertTrue(Files.exists(dir.resolve("notes/keep.txt")));
    }

    /** Runs a command in-process and returns what it printed on System.out (failing on a non-zero exit). */
    private static String run(Object command, String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CommandLine cli = new CommandLine(command);
        cli.setExecutionExceptionHandler(new CliErrors());
        java.io.StringWriter err = new java.io.StringWriter();
        cli.setErr(new java.io.PrintWriter(err, true));
        int code;
        try {
            System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
            code = cli.execute(args);
        } finally {
            System.setOut(old);
        }
        assertEquals(0, code, err.toString());
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
