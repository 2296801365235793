package seed.stages.model;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * GPT-2 (Radford et al. 2019) as Seed has always built it: token + learned position embeddings, pre-LayerNorm
 * blocks of fused-qkv attention and a 4x GELU MLP, all with biases; a final LayerNorm; a tied or separate head.
 * Program: {@code gpt2.torchscript} (with the one-token decode fast path). Parameter names are Seed's own
 * ({@code h.0.attn.qkv.weight}); {@link HuggingFace} maps them to {@code GPT2LMHeadModel}'s.
 */
public final class Gpt2Family implements FamilySpec {

    static final Gpt2Family INSTANCE = new Gpt2Family();

    private Gpt2Family() {
    }

    @Override
    public String program() {
        return "gpt2.torchscript";
    }

    @Override
    public Map<String, long[]> parameterShapes(GptConfig c) {
        long d = c.dModel();
        long f = c.ffn();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("wte.weight", new long[] {c.vocabSize(), d});
        shapes.put("wpe.weight", new long[] {c.context(), d});
        for (int i = 0; i < c.layers(); i++) {
            String p = layerPrefix(i);
            shapes.put(p + "ln1.weight", new long[] {d});
            shapes.put(p + "ln1.bias", new long[] {d});
            shapes.put(p + "attn.qkv.weight", new long[] {3 * d, d});
            shapes.put(p + "attn.qkv.bias", new long[] {3 * d});
            shapes.put(p + "attn.proj.weight", new long[] {d, d});
            shapes.put(p + "attn.proj.bias", new long[] {d});
            shapes.put(p + "ln2.weight", new long[] {d});
            shapes.put(p + "ln2.bias", new long[] {d});
            shapes.put(p + "mlp.fc.weight", new long[] {f, d});
            shapes.put(p + "mlp.fc.bias", new long[] {f});
            shapes.put(p + "mlp.proj.weight", new long[] {d, f});
            shapes.put(p + "mlp.proj.bias", new long[] {d});
        }
        shapes.put("lnf.weight", new long[] {d});
        shapes.put("lnf.bias", new long[] {d});
        if (!c.tiedEmbeddings()) {
            shapes.put("head.weight", new long[] {c.vocabSize(), d});
        }
        return shapes;
    }

    @Override
    public String layerPrefix(int layer) {
        return "h." + layer + ".";
    }

    @Override
    public String headParameter(GptConfig c) {
        return c.tiedEmbeddings() ? "wte.weight" : "head.weight";
    }

    @Override
    public Map<String, String> blockVariables() {
        Map<String, String> v = new LinkedHashMap<>();
        for (String[] module : new String[][] {{"ln1", "ln1"}, {"attn.qkv", "qkv"}, {"attn.proj", "proj"},
                {"ln2", "ln2"}, {"mlp.fc", "fc"}, {"mlp.proj", "out"}}) {
            v.put(module[0] + ".weight", module[1] + "_weight");
            v.put(module[0] + ".bias", module[1] + "_bias");
        }
        return v;
    }

    @Override
    public Map<String, String> loraModules() {
        return Map.of(); // GPT-2's program has no adapter path yet
    }

    @Override
    public Map<String, String> constants(GptConfig c, Precision precision) {
        boolean fp32 = precision == Precision.FP32;
        boolean exact = c.activation() == GptConfig.Activation.GELU;
        return Map.of(
                "HEAD_SIZE", String.valueOf(c.headSize()),
                "GELU", exact ? "\"none\"" : "\"tanh\"",
                // decode's fp32 forms (see the program); bf16 keeps the fused attention and torch's gelu
                "DECODE_FP32", python(fp32),
                "DECODE_ERF", python(fp32 && exact));
    }

    @Override
    public float[] initialValues(String name, long[] shape, GptConfig c, SplittableRandom random) {
        if (name.endsWith("ln1.weight") || name.endsWith("ln2.weight") || name.equals("lnf.weight")) {
            float[] ones = new float[FamilySpec.size(shape)];
            Arrays.fill(ones, 1f);
            return ones;
        }
        if (name.endsWith(".bias")) {
            return new float[FamilySpec.size(shape)];
        }
        boolean residual = name.endsWith("attn.proj.weight") || name.endsWith("mlp.proj.weight");
        return FamilySpec.gaussian(shape, residual ? 0.02 / Math.sqrt(2.0 * c.layers()) : 0.02, random);
    }

    @Override
    public boolean hasDecode() {
        return true;
    }

    static String python(boolean value) {
        return value ? "True" : "False";
    }
}
