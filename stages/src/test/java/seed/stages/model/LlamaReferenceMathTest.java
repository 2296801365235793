package seed.stages.model;


import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import seed.stages.checkpoint.HostTensor;

/**
 * The Llama family's program computes Hugging Face's {@code modeling_llama.py} math: logits and every parameter's
 * gradient equal an op-by-op implementation written here with DJL's NDArray ops (RMSNorm in fp32, rotate-half RoPE
 * with {@code rope_theta}, grouped-query attention by repeating each KV head, SwiGLU, explicit causal mask), for a
 * GQA 4:2 model with an untied head, a Qwen2-style model (q/k/v biases, tied head, a head width other than
 * d-model / heads), and a left-padded batch. Weights are 10x the usual initialisation so a swapped convention
 * (interleaved RoPE pairs, tiled instead of interleaved KV heads, theta) changes the logits far beyond the tolerance.
 */
class LlamaReferenceMathTest {

    static GptConfig config(String variant) {
        return switch (variant) {
            case "qwen2" -> new GptConfig(41, 12, 2, 24, 4, true, GptConfig.Activation.GELU, Family.LLAMA, 2, 40, 8,
                    1_000_000, true, 1e-6);
            default -> new GptConfig(41, 12, 2, 24, 4, false, GptConfig.Activation.GELU, Family.LLAMA, 2, 56, 0,
                    500, false, 1e-5);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "padded"})
    void logitsAndGradientsEqualHuggingFacesMath(String variant) {
        GptConfig config = config(variant);
        float[] mask = variant.equals("padded") ? ReferenceComparison.LEFT_PADDED : null;
        try (Gpt model = large(config)) {
            ReferenceComparison.assertProgramMatches(model, config, LlamaReferenceMathTest::reference, mask, 40);
        }
    }

    /** Weights 10x the initialisation (matrices), norm gains and biases varied, so every convention matters. */
    static Gpt large(GptConfig config) {
        Map<String, HostTensor> weights = new LinkedHashMap<>();
        java.util.SplittableRandom random = new java.util.SplittableRandom(5);
        try (Gpt init = Gpt.initialize(config, 11)) {
            init.weights().forEach((name, w) -> {
                float[] data = w.data().clone();
                for (int i = 0; i < data.length; i++) {
                    if (w.shape().length == 2) {
                        data[i] *= 10f;
                    } else {
                        data[i] += (float) random.nextGaussian() * 0.3f; // gains around 1, biases around 0
                    }
                }
                weights.put(name, new HostTensor(w.shape(), data));
            });
        }
        return Gpt.fromWeights(config, weights);
    }

    /** LlamaForCausalLM's forward pass as modeling_llama.py writes it, one DJL op at a time. */
    static NDArray reference(Gpt model, GptConfig c, NDArray tokens, NDArray attentionMask) {
        Map<String, NDArray> p = model.parameters();
        NDManager m = tokens.getManager();
        long b = tokens.getShape().get(0);
        long t = tokens.getShape().get(1);
        int h = c.heads();
        int kvh = c.kvHeads();
        int hd = c.headDim();
        float[] causal = new float[(int) (t * t)];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                causal[(int) (i * t + j)] = -1e9f;
            }
        }
        NDArray bias = m.create(causal, new Shape(t, t));
        NDArray positions;
        if (attentionMask == null) {
            positions = m.arange(0, (int) t, 1, DataType.INT64).reshape(1, t);
        } else {
            positions = attentionMask.cumSum(1).sub(1).maximum(0).toType(DataType.INT64, false);
            bias = bias.add(attentionMask.sub(1).mul(1e9f).reshape(b, 1, 1, t));
        }
        // LlamaRotaryEmbedding: inv_freq = 1 / theta^(arange(0, hd, 2) / hd); emb = cat(freqs, freqs)
        float[] inverse = new float[hd / 2];
        for (int i = 0; i < hd / 2; i++) {
            inverse[i] = (float) (1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / hd));
        }
        NDArray freqs = positions.toType(DataType.FLOAT32, false).reshape(-1, t, 1).mul(m.create(inverse));
        NDArray emb = NDArrays.concat(new ai.djl.ndarray.NDList(freqs, freqs), -1).expandDims(1);
        NDArray cos = emb.cos();
        NDArray sin = emb.sin();
        NDArray x = embed(tokens, p.get("model.embed_tokens.weight"));
        for (int layer = 0; layer < c.layers(); layer++) {
            String n = "model.layers." + layer + ".";
            NDArray normed = rmsNorm(x, p.get(n + "input_layernorm.weight"), c.normEps());
            NDArray q = linear(normed, p, n + "self_attn.q_proj").reshape(b, t, h, hd).transpose(0, 2, 1, 3);
            NDArray k = linear(normed, p, n + "self_attn.k_proj").reshape(b, t, kvh, hd).transpose(0, 2, 1, 3);
            NDArray v = linear(normed, p, n + "self_attn.v_proj").reshape(b, t, kvh, hd).transpose(0, 2, 1, 3);
            q = q.mul(cos).add(rotateHalf(q, hd).mul(sin));
            k = k.mul(cos).add(rotateHalf(k, hd).mul(sin));
            k = k.repeat(1, h / kvh); // repeat_kv: each KV head serves h / kvh consecutive query heads
            v = v.repeat(1, h / kvh);
            NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).div((float) Math.sqrt(hd)).add(bias);
            NDArray y = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) h * hd);
            x = x.add(linear(y, p, n + "self_attn.o_proj"));
            NDArray post = rmsNorm(x, p.get(n + "post_attention_layernorm.weight"), c.normEps());
            NDArray gate = linear(post, p, n + "mlp.gate_proj");
            NDArray silu = gate.mul(gate.neg().exp().add(1f).pow(-1)); // x * sigmoid(x)
            x = x.add(linear(silu.mul(linear(post, p, n + "mlp.up_proj")), p, n + "mlp.down_proj"));
        }
        x = rmsNorm(x, p.get("model.norm.weight"), c.normEps());
        NDArray head = c.tiedEmbeddings() ? p.get("model.embed_tokens.weight") : p.get("lm_head.weight");
        return x.matMul(head.transpose());
    }

    private static NDArray rotateHalf(NDArray x, int hd) {
        NDArray x1 = x.get(new NDIndex("..., :" + hd / 2));
        NDArray x2 = x.get(new NDIndex("..., " + hd / 2 + ":"));
        return NDArrays.concat(new ai.djl.ndarray.NDList(x2.neg(), x1), -1);
    }

    private static NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        NDArray variance = x.square().mean(new int[] {-1}, true);
        return x.mul(variance.add((float) eps).sqrt().pow(-1)).mul(weight);
    }

    private static NDArray linear(NDArray x, Map<String, NDArray> p, String name) {
        NDArray y = x.matMul(p.get(name + ".weight").transpose());
        NDArray bias = p.get(name + ".bias");
        return bias == null ? y : y.add(bias);
    }

    private static NDArray embed(NDArray ids, NDArray table) {
        return ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    }
}
