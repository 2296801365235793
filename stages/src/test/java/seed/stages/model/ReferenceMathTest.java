package seed.stages.model;


import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The compiled program computes GPT-2's math: its logits and every parameter's gradient equal an independent,
 * op-by-op implementation written here with DJL's own NDArray ops (explicit causal mask, softmax attention, erf or
 * tanh GELU written out as formulas), for Seed's shape and for GPT-2's options (tied head, tanh GELU), with and
 * without left padding.
 */
class ReferenceMathTest {

    @ParameterizedTest
    @ValueSource(strings = {"seed", "gpt2", "padded"})
    void logitsAndGradientsEqualAnOpByOpImplementation(String variant) {
        GptConfig base = new GptConfig(37, 12, 2, 24, 3);
        GptConfig config = variant.equals("gpt2") ? base.gpt2Style() : base;
        float[] mask = variant.equals("padded") ? ReferenceComparison.LEFT_PADDED : null;
        try (Gpt model = large(config)) {
            ReferenceComparison.assertProgramMatches(model, config, ReferenceMathTest::reference, mask, 36);
        }
    }

    /**
     * A model whose weights are 10x GPT-2's initialisation, so activations reach the range where the two GELUs
     * differ (~1e-3 at |x| ~ 2; at the usual initialisation they agree to 1e-5 and a swapped GELU would pass).
     */
    static Gpt large(GptConfig config) {
        Map<String, seed.stages.checkpoint.HostTensor> weights = new java.util.LinkedHashMap<>();
        try (Gpt init = Gpt.initialize(config, 11)) {
            init.weights().forEach((name, w) -> {
                float[] data = w.data().clone();
                if (w.shape().length == 2) {
                    for (int i = 0; i < data.length; i++) {
                        data[i] *= 10f;
                    }
                }
                weights.put(name, new seed.stages.checkpoint.HostTensor(w.shape(), data));
            });
        }
        return Gpt.fromWeights(config, weights);
    }

    /** GPT-2's forward pass, one DJL op at a time. */
    private static NDArray reference(Gpt model, GptConfig c, NDArray tokens, NDArray attentionMask) {
        Map<String, NDArray> p = model.parameters();
        NDManager m = tokens.getManager();
        long b = tokens.getShape().get(0);
        long t = tokens.getShape().get(1);
        int h = c.heads();
        int hs = c.headSize();
        NDArray positions;
        float[] causal = new float[(int) (t * t)];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                causal[(int) (i * t + j)] = -1e9f; // a query may not see later keys
            }
        }
        NDArray bias = m.create(causal, new Shape(t, t));
        if (attentionMask == null) {
            positions = m.arange(0, (int) t, 1, DataType.INT64).reshape(1, t);
        } else {
            positions = attentionMask.cumSum(1).sub(1).maximum(0).toType(DataType.INT64, false);
            bias = bias.add(attentionMask.sub(1).mul(1e9f).reshape(b, 1, 1, t));
        }
        NDArray x = embed(tokens, p.get("wte.weight")).add(embed(positions, p.get("wpe.weight")));
        for (int layer = 0; layer < c.layers(); layer++) {
            String n = "h." + layer + ".";
            NDArray qkv = linear(norm(x, p, n + "ln1", c), p, n + "attn.qkv");
            NDList parts = qkv.split(3, 2);
            NDArray q = parts.get(0).reshape(b, t, h, hs).transpose(0, 2, 1, 3);
            NDArray k = parts.get(1).reshape(b, t, h, hs).transpose(0, 2, 1, 3);
            NDArray v = parts.get(2).reshape(b, t, h, hs).transpose(0, 2, 1, 3);
            NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).div((float) Math.sqrt(hs)).add(bias);
            NDArray y = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(b, t, c.dModel());
            x = x.add(linear(y, p, n + "attn.proj"));
            NDArray hidden = linear(norm(x, p, n + "ln2", c), p, n + "mlp.fc");
            NDArray gelu = c.activation() == GptConfig.Activation.GELU
                    ? hidden.mul(0.5f).mul(hidden.div((float) Math.sqrt(2)).erf().add(1f))
                    : hidden.mul(0.5f).mul(hidden.pow(3).mul(0.044715f).add(hidden)
                            .mul((float) Math.sqrt(2 / Math.PI)).tanh().add(1f));
            x = x.add(linear(gelu, p, n + "mlp.proj"));
        }
        x = norm(x, p, "lnf", c);
        NDArray head = c.tiedEmbeddings() ? p.get("wte.weight") : p.get("head.weight");
        return x.matMul(head.transpose());
    }

    private static NDArray linear(NDArray x, Map<String, NDArray> p, String name) {
        return x.matMul(p.get(name + ".weight").transpose()).add(p.get(name + ".bias"));
    }

    private static NDArray norm(NDArray x, Map<String, NDArray> p, String name, GptConfig c) {
        NDArray mean = x.mean(new int[] {-1}, true);
        NDArray centred = x.sub(mean);
        NDArray variance = centred.square().mean(new int[] {-1}, true);
        return centred.div(variance.add(1e-5f).sqrt()).mul(p.get(name + ".weight")).add(p.get(name + ".bias"));
    }

    private static NDArray embed(NDArray ids, NDArray table) {
        return ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    }
}
