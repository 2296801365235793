package seed.stages.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;

/**
 * A Hugging Face {@code config.json} read as a {@link GptConfig} and written back from one. Separate from
 * {@link HuggingFace} (the weights) because this is where a folder is accepted or refused: every option of the
 * Llama family's {@code LlamaConfig} / {@code MistralConfig} / {@code Qwen2Config} that changes the math either
 * maps to a field of {@link GptConfig} or is refused by name (rope_scaling types, activations, sliding windows,
 * MLP biases), so a model Seed cannot compute exactly never loads silently wrong.
 */
public final class HuggingFaceConfig {

    static final ObjectMapper JSON = new ObjectMapper();

    /** The {@code model_type}s of the Llama family: the same math with the options read below. */
    static final Set<String> LLAMA_TYPES = Set.of("llama", "mistral", "qwen2");

    private HuggingFaceConfig() {
    }

    /** The folder's {@code config.json} as a tree, with a clear error when it is missing. */
    static JsonNode tree(Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "no config.json: not a Hugging Face model folder");
        }
        return JSON.readTree(file.toFile());
    }

    /**
     * The Seed configuration of the Hugging Face folder {@code dir} ({@code model_type} gpt2, llama, mistral or
     * qwen2), at {@code context} tokens (0 = the folder's own {@code max_position_embeddings} / {@code n_positions};
     * a larger value is refused: the model never saw those positions).
     */
    public static GptConfig read(Path dir, int context) throws IOException {
        JsonNode c = tree(dir);
        String type = c.path("model_type").asText("gpt2");
        String where = dir.resolve("config.json").toString();
        GptConfig config;
        if (type.equals("gpt2")) {
            config = gpt2(c, where);
        } else if (LLAMA_TYPES.contains(type)) {
            config = llama(c, type, where);
        } else {
            throw new IllegalArgumentException(where + ": model_type '" + type + "' is not supported; Seed reads "
                    + "gpt2, llama, mistral and qwen2");
        }
        if (context > 0 && context != config.context()) {
            if (context > config.context()) {
                throw new IllegalArgumentException("context " + context + " is longer than the model's own ("
                        + config.context() + ", " + (type.equals("gpt2") ? "n_positions" : "max_position_embeddings")
                        + " in " + where + ")");
            }
            config = config.withContext(context);
        }
        if (config.family() == Family.LLAMA) {
            checkSlidingWindow(c, type, config.context(), where);
        }
        return config;
    }

    private static GptConfig gpt2(JsonNode c, String where) {
        if (!c.path("n_inner").isNull() && !c.path("n_inner").isMissingNode()
                && c.path("n_inner").asInt() != 4 * c.path("n_embd").asInt()) {
            throw new IllegalArgumentException(where + ": n_inner must be 4 * n_embd (or null)");
        }
        String activation = c.path("activation_function").asText("gelu_new");
        GptConfig.Activation act = switch (activation) {
            case "gelu_new", "gelu_pytorch_tanh" -> GptConfig.Activation.GELU_TANH;
            case "gelu" -> GptConfig.Activation.GELU;
            default -> throw new IllegalArgumentException(where + ": activation_function '" + activation
                    + "' is not supported (gelu, gelu_new)");
        };
        return new GptConfig(c.path("vocab_size").asInt(), c.path("n_positions").asInt(), c.path("n_layer").asInt(),
                c.path("n_embd").asInt(), c.path("n_head").asInt(), c.path("tie_word_embeddings").asBoolean(true), act);
    }

    private static GptConfig llama(JsonNode c, String type, String where) {
        String act = c.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new IllegalArgumentException(where + ": hidden_act '" + act + "' is not supported; the Llama family "
                    + "in Seed uses silu (SwiGLU)");
        }
        JsonNode scaling = c.path("rope_scaling");
        if (!scaling.isMissingNode() && !scaling.isNull()) {
            String kind = scaling.path("rope_type").asText(scaling.path("type").asText("unknown"));
            if (!kind.equals("default")) {
                throw new IllegalArgumentException(where + ": rope_scaling type '" + kind + "' is not implemented "
                        + "(Seed implements plain RoPE: rope_scaling null or \"default\"; not llama3, yarn, linear, "
                        + "dynamic, longrope)");
            }
        }
        if (c.path("mlp_bias").asBoolean(false)) {
            throw new IllegalArgumentException(where + ": mlp_bias true is not implemented (the Llama family in Seed "
                    + "has no MLP biases)");
        }
        if (c.has("partial_rotary_factor") && c.path("partial_rotary_factor").asDouble(1) != 1.0) {
            throw new IllegalArgumentException(where + ": partial_rotary_factor "
                    + c.path("partial_rotary_factor").asDouble() + " is not implemented (rotary on the whole head only)");
        }
        int hidden = required(c, "hidden_size", where);
        int heads = required(c, "num_attention_heads", where);
        int kvHeads = c.path("num_key_value_heads").isNumber() ? c.path("num_key_value_heads").asInt() : heads;
        int headDim = c.path("head_dim").isNumber() ? c.path("head_dim").asInt() : hidden / heads;
        // Qwen2 always has q/k/v biases; Llama has them (and an o_proj bias, refused with the weights) with attention_bias
        boolean qkvBias = type.equals("qwen2") || c.path("attention_bias").asBoolean(false);
        return new GptConfig(required(c, "vocab_size", where), required(c, "max_position_embeddings", where),
                required(c, "num_hidden_layers", where), hidden, heads,
                c.path("tie_word_embeddings").asBoolean(false), GptConfig.Activation.GELU, Family.LLAMA, kvHeads,
                required(c, "intermediate_size", where), headDim, c.path("rope_theta").asDouble(10000.0), qkvBias,
                c.path("rms_norm_eps").asDouble(1e-6));
    }

    /**
     * Mistral's (and Qwen2's, with {@code use_sliding_window}) sliding-window attention limits each token to the
     * last {@code sliding_window} positions; Seed attends to all of them, which is the same math only while the
     * context is no longer than the window.
     */
    private static void checkSlidingWindow(JsonNode c, String type, int context, String where) {
        JsonNode window = c.path("sliding_window");
        boolean used = type.equals("qwen2") ? c.path("use_sliding_window").asBoolean(false) : true;
        if (used && window.isNumber() && window.asInt() < context) {
            throw new IllegalArgumentException(where + ": sliding_window " + window.asInt() + " is smaller than the "
                    + "context " + context + " and sliding-window attention is not implemented; use --context "
                    + window.asInt() + " or less");
        }
    }

    private static int required(JsonNode c, String field, String where) {
        if (!c.path(field).isNumber()) {
            throw new IllegalArgumentException(where + " has no numeric '" + field + "'");
        }
        return c.path(field).asInt();
    }

    /**
     * The {@code config.json} of a Llama-family model: {@code LlamaForCausalLM}, or {@code Qwen2ForCausalLM} when it
     * has q/k/v biases (Llama's {@code attention_bias} would also put a bias on o_proj, which Seed's model lacks).
     * {@code torchDtype} is {@code float32} or {@code bfloat16}; {@code eosTokenId} &lt; 0 leaves the id out.
     */
    static ObjectNode llamaJson(GptConfig c, String torchDtype, int eosTokenId) {
        if (c.family() != Family.LLAMA) {
            throw new IllegalArgumentException("not a Llama-family model: " + c.describe());
        }
        boolean qwen2 = c.qkvBias();
        ObjectNode json = JSON.createObjectNode();
        json.putArray("architectures").add(qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
        json.put("model_type", qwen2 ? "qwen2" : "llama");
        json.put("vocab_size", c.vocabSize());
        json.put("hidden_size", c.dModel());
        json.put("intermediate_size", c.ffn());
        json.put("num_hidden_layers", c.layers());
        json.put("num_attention_heads", c.heads());
        json.put("num_key_value_heads", c.kvHeads());
        json.put("head_dim", c.headDim());
        json.put("hidden_act", "silu");
        json.put("max_position_embeddings", c.context());
        json.put("rms_norm_eps", c.normEps());
        json.put("rope_theta", c.ropeTheta());
        json.putNull("rope_scaling");
        if (qwen2) {
            json.put("use_sliding_window", false);
            json.putNull("sliding_window");
        } else {
            json.put("attention_bias", false);
            json.put("mlp_bias", false);
        }
        json.put("attention_dropout", 0.0);
        json.put("tie_word_embeddings", c.tiedEmbeddings());
        json.put("initializer_range", 0.02);
        json.put("use_cache", true);
        if (eosTokenId >= 0) {
            json.put("eos_token_id", eosTokenId);
        }
        json.put("torch_dtype", torchDtype);
        return json;
    }
}
