package seed.stages.model;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The Llama family (Llama 2/3, Mistral, Qwen2, SmolLM) in Hugging Face's conventions ({@code modeling_llama.py}):
 * no position embeddings; rotary embeddings on q and k in the rotate-half layout with base {@code rope_theta};
 * RMSNorm in fp32; SwiGLU MLP {@code down(silu(gate(x)) * up(x))}; grouped-query attention with
 * {@code kvHeads} key/value heads; no biases except Qwen2's q/k/v biases; tied or separate head.
 * Program: {@code llama.torchscript}. Parameter names are Hugging Face's own ({@code model.layers.0.self_attn.q_proj.weight}),
 * so a folder's weights load by name and adapters get PEFT's names.
 */
public final class LlamaFamily implements FamilySpec {

    static final LlamaFamily INSTANCE = new LlamaFamily();

    private static final Map<String, String> LINEARS = linears();

    private LlamaFamily() {
    }

    private static Map<String, String> linears() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("self_attn.q_proj", "q");
        m.put("self_attn.k_proj", "k");
        m.put("self_attn.v_proj", "v");
        m.put("self_attn.o_proj", "o");
        m.put("mlp.gate_proj", "gate");
        m.put("mlp.up_proj", "up");
        m.put("mlp.down_proj", "down");
        return m;
    }

    @Override
    public String program() {
        return "llama.torchscript";
    }

    @Override
    public Map<String, long[]> parameterShapes(GptConfig c) {
        long d = c.dModel();
        long q = (long) c.heads() * c.headDim();
        long kv = (long) c.kvHeads() * c.headDim();
        long f = c.ffn();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {c.vocabSize(), d});
        for (int i = 0; i < c.layers(); i++) {
            String p = layerPrefix(i);
            shapes.put(p + "input_layernorm.weight", new long[] {d});
            shapes.put(p + "self_attn.q_proj.weight", new long[] {q, d});
            shapes.put(p + "self_attn.k_proj.weight", new long[] {kv, d});
            shapes.put(p + "self_attn.v_proj.weight", new long[] {kv, d});
            if (c.qkvBias()) {
                shapes.put(p + "self_attn.q_proj.bias", new long[] {q});
                shapes.put(p + "self_attn.k_proj.bias", new long[] {kv});
                shapes.put(p + "self_attn.v_proj.bias", new long[] {kv});
            }
            shapes.put(p + "self_attn.o_proj.weight", new long[] {d, q});
            shapes.put(p + "post_attention_layernorm.weight", new long[] {d});
            shapes.put(p + "mlp.gate_proj.weight", new long[] {f, d});
            shapes.put(p + "mlp.up_proj.weight", new long[] {f, d});
            shapes.put(p + "mlp.down_proj.weight", new long[] {d, f});
        }
        shapes.put("model.norm.weight", new long[] {d});
        if (!c.tiedEmbeddings()) {
            shapes.put("lm_head.weight", new long[] {c.vocabSize(), d});
        }
        return shapes;
    }

    @Override
    public String layerPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    @Override
    public String headParameter(GptConfig c) {
        return c.tiedEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight";
    }

    @Override
    public Map<String, String> blockVariables() {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("input_layernorm.weight", "input_norm_weight");
        v.put("post_attention_layernorm.weight", "post_norm_weight");
        LINEARS.forEach((module, name) -> {
            v.put(module + ".weight", name + "_weight");
            v.put(module + ".bias", name + "_bias");
        });
        return v;
    }

    @Override
    public Map<String, String> loraModules() {
        return LINEARS;
    }

    @Override
    public Map<String, String> constants(GptConfig c, Precision precision) {
        return Map.of(
                "KV_HEADS", String.valueOf(c.kvHeads()),
                "GROUPS", String.valueOf(c.heads() / c.kvHeads()),
                "HEAD_DIM", String.valueOf(c.headDim()),
                "THETA", String.valueOf(c.ropeTheta()));
    }

    @Override
    public float[] initialValues(String name, long[] shape, GptConfig c, SplittableRandom random) {
        if (name.endsWith("layernorm.weight") || name.equals("model.norm.weight")) {
            float[] ones = new float[FamilySpec.size(shape)];
            Arrays.fill(ones, 1f);
            return ones;
        }
        if (name.endsWith(".bias")) {
            return new float[FamilySpec.size(shape)];
        }
        boolean residual = name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight");
        return FamilySpec.gaussian(shape, residual ? 0.02 / Math.sqrt(2.0 * c.layers()) : 0.02, random);
    }

    @Override
    public boolean hasDecode() {
        return false; // generation runs the general extend path, which DecodeTest ties to the full recompute
    }
}
