package seed.stages.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import seed.stages.checkpoint.HostTensor;

/**
 * A decoder-only transformer of GPT-2's shape: token + learned position embeddings, pre-LayerNorm blocks of causal
 * multi-head attention and a GELU MLP (4x wide), a final LayerNorm and an untied linear head.
 *
 * <p>The whole model is this file, written with raw DJL NDArray ops on the PyTorch engine (fused {@code linear},
 * {@code layerNorm} and {@code embedding} kernels) so that nothing is hidden behind a framework. Parameters live in the
 * model's own NDManager as an ordered name -> array map with gradients attached; every activation lives in the
 * manager of the input tokens, so a caller closes one per-step manager and leaks nothing.
 *
 * <p>Three entry points: {@link #forward} for training (whole sequences, optional left-padding mask),
 * {@link #hidden}/{@link #logits} for heads that sit on the final hidden states (value head, reward head), and
 * {@link #forwardCached} for generation with a {@link KvCache}.
 */
public final class Gpt implements AutoCloseable {

    private static final float MASKED = -1e9f;

    private final GptConfig config;
    private final NDManager manager;
    private final Map<String, NDArray> parameters;
    /** Causal attention biases by sequence length, created once per length in the model's manager (read-only). */
    private final Map<Long, NDArray> causalBiases = new ConcurrentHashMap<>();

    private Gpt(GptConfig config, NDManager manager, Map<String, NDArray> parameters) {
        this.config = config;
        this.manager = manager;
        this.parameters = Collections.unmodifiableMap(parameters);
    }

    /** A freshly initialised model (GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2L)). */
    public static Gpt initialize(GptConfig config, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, HostTensor> weights = new LinkedHashMap<>();
        double residualStd = 0.02 / Math.sqrt(2.0 * config.layers());
        for (Map.Entry<String, long[]> entry : parameterShapes(config).entrySet()) {
            String name = entry.getKey();
            long[] shape = entry.getValue();
            float[] data = new float[(int) Arrays.stream(shape).reduce(1, (x, y) -> x * y)];
            if (name.endsWith("ln1.weight") || name.endsWith("ln2.weight") || name.equals("lnf.weight")) {
                Arrays.fill(data, 1f);
            } else if (!name.endsWith(".bias")) {
                double std = name.endsWith("attn.proj.weight") || name.endsWith("mlp.proj.weight") ? residualStd : 0.02;
                for (int i = 0; i < data.length; i++) {
                    data[i] = (float) (random.nextGaussian() * std);
                }
            }
            weights.put(name, new HostTensor(shape, data));
        }
        return fromWeights(config, weights);
    }

    /** A model with the given weights; every parameter must be present with the right shape. */
    public static Gpt fromWeights(GptConfig config, Map<String, HostTensor> weights) {
        NDManager manager = NDManager.newBaseManager();
        try {
            Map<String, NDArray> parameters = new LinkedHashMap<>();
            for (Map.Entry<String, long[]> entry : parameterShapes(config).entrySet()) {
                HostTensor tensor = weights.get(entry.getKey());
                if (tensor == null) {
                    throw new IllegalArgumentException("weights have no parameter '" + entry.getKey()
                            + "' (expected a model of " + config.describe() + ")");
                }
                if (!Arrays.equals(tensor.shape(), entry.getValue())) {
                    throw new IllegalArgumentException("parameter '" + entry.getKey() + "' has shape "
                            + Arrays.toString(tensor.shape()) + " but a model of " + config.describe() + " needs "
                            + Arrays.toString(entry.getValue()));
                }
                NDArray array = torchOwned(manager.create(tensor.data(), new Shape(tensor.shape())));
                array.setName(entry.getKey());
                array.setRequiresGradient(true);
                parameters.put(entry.getKey(), array);
            }
            return new Gpt(config, manager, parameters);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * A copy of {@code fromJava} in memory allocated by libtorch, and the original closed. DJL creates arrays from Java
     * data without copying ({@code from_blob} on a JVM direct buffer), so their alignment depends on the JVM's
     * allocation history, and MKL picks GEMM code paths by alignment: weights left there made runs of the same seed
     * differ in the last bits from process to process. libtorch's allocator aligns every block to 64 bytes.
     */
    public static NDArray torchOwned(NDArray fromJava) {
        NDArray owned = fromJava.duplicate();
        fromJava.close();
        return owned;
    }

    /** Parameter names and shapes in a fixed order; weight matrices are (out, in) as torch's linear expects. */
    public static Map<String, long[]> parameterShapes(GptConfig c) {
        long d = c.dModel();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("wte.weight", new long[] {c.vocabSize(), d});
        shapes.put("wpe.weight", new long[] {c.context(), d});
        for (int i = 0; i < c.layers(); i++) {
            String p = "h." + i + ".";
            shapes.put(p + "ln1.weight", new long[] {d});
            shapes.put(p + "ln1.bias", new long[] {d});
            shapes.put(p + "attn.qkv.weight", new long[] {3 * d, d});
            shapes.put(p + "attn.qkv.bias", new long[] {3 * d});
            shapes.put(p + "attn.proj.weight", new long[] {d, d});
            shapes.put(p + "attn.proj.bias", new long[] {d});
            shapes.put(p + "ln2.weight", new long[] {d});
            shapes.put(p + "ln2.bias", new long[] {d});
            shapes.put(p + "mlp.fc.weight", new long[] {4 * d, d});
            shapes.put(p + "mlp.fc.bias", new long[] {4 * d});
            shapes.put(p + "mlp.proj.weight", new long[] {d, 4 * d});
            shapes.put(p + "mlp.proj.bias", new long[] {d});
        }
        shapes.put("lnf.weight", new long[] {d});
        shapes.put("lnf.bias", new long[] {d});
        shapes.put("head.weight", new long[] {c.vocabSize(), d});
        return shapes;
    }

    public GptConfig config() {
        return config;
    }

    /** The trainable parameters by name, in a fixed order; gradients are attached to each. */
    public Map<String, NDArray> parameters() {
        return parameters;
    }

    /** Copies the weights to Java memory (for checkpoints and for {@link #copy()}). */
    public Map<String, HostTensor> weights() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        parameters.forEach((name, array) -> out.put(name, new HostTensor(array.getShape().getShape(), array.toFloatArray())));
        return out;
    }

    /** Overwrites every parameter in place with {@code weights} (same names and shapes). */
    public void loadWeights(Map<String, HostTensor> weights) {
        try (Gpt other = fromWeights(config, weights)) {
            parameters.forEach((name, array) -> array.set(other.parameters.get(name).toFloatArray()));
        }
    }

    /** An independent deep copy, e.g. the frozen reference policy of RLHF. */
    public Gpt copy() {
        return fromWeights(config, weights());
    }

    /** Logits (B, T, V) for token ids (B, T); no padding. */
    public NDArray forward(NDArray tokens) {
        return logits(hidden(tokens, null));
    }

    /** Logits (B, T, V) for left-padded token ids (B, T) with {@code attentionMask} (B, T): 1 real token, 0 padding. */
    public NDArray forward(NDArray tokens, NDArray attentionMask) {
        return logits(hidden(tokens, attentionMask));
    }

    /**
     * Final hidden states (B, T, D) after the last LayerNorm. With a mask, padded keys are ignored and position ids
     * count real tokens only, so a left-padded sequence sees exactly what it would see unpadded.
     */
    public NDArray hidden(NDArray tokens, NDArray attentionMask) {
        long batch = tokens.getShape().get(0);
        long length = tokens.getShape().get(1);
        checkLength(length);
        NDManager m = tokens.getManager();
        NDArray positions;
        NDArray bias;
        if (attentionMask == null) {
            positions = m.arange(0, (int) length, 1, DataType.INT64);
            bias = causalBias(length);
        } else {
            NDArray mask = attentionMask.toType(DataType.FLOAT32, false);
            positions = mask.cumSum(1).sub(1).maximum(0).toType(DataType.INT64, false);
            NDArray padding = mask.sub(1).mul(-MASKED).reshape(batch, 1, 1, length);
            bias = padding.add(causalBias(length));
        }
        NDArray x = embed(tokens, param("wte.weight")).add(embed(positions, param("wpe.weight")));
        for (int layer = 0; layer < config.layers(); layer++) {
            x = block(layer, x, bias, null);
        }
        return layerNorm(x, "lnf");
    }

    /** The language-model head: hidden states (..., D) to logits (..., V). */
    public NDArray logits(NDArray hidden) {
        return linear(hidden, "head", false);
    }

    /** A new, empty KV cache for {@code batch} sequences whose arrays live in {@code manager}. */
    public KvCache newCache(NDManager manager, int batch) {
        return new KvCache(manager, config.layers(), batch);
    }

    /**
     * Runs new tokens (B, t) through the model, attending to everything in {@code cache} and appending their keys and
     * values to it. {@code real[b][i]} says whether new token i of sequence b is a real token (false = left padding);
     * null means all real. Returns logits (B, t, V).
     */
    public NDArray forwardCached(NDArray tokens, boolean[][] real, KvCache cache) {
        int batch = (int) tokens.getShape().get(0);
        int fresh = (int) tokens.getShape().get(1);
        int past = (int) cache.length();
        int total = past + fresh;
        if (batch != cache.batchSize()) {
            throw new IllegalArgumentException("cache holds " + cache.batchSize() + " sequences, got " + batch);
        }
        long[] positions = new long[batch * fresh];
        boolean[][] keyReal = new boolean[batch][total];
        for (int b = 0; b < batch; b++) {
            if (cache.real != null) {
                System.arraycopy(cache.real[b], 0, keyReal[b], 0, past);
            }
            for (int i = 0; i < fresh; i++) {
                boolean isReal = real == null || real[b][i];
                keyReal[b][past + i] = isReal;
                positions[b * fresh + i] = isReal ? cache.nextPosition[b]++ : 0;
                if (cache.nextPosition[b] > config.context()) {
                    throw new IllegalArgumentException("sequence " + b + " is longer than the model's context ("
                            + config.context() + " tokens)");
                }
            }
        }
        float[] biasData = new float[batch * fresh * total];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < fresh; i++) {
                int row = (b * fresh + i) * total;
                for (int j = 0; j < total; j++) {
                    biasData[row + j] = j <= past + i && keyReal[b][j] ? 0f : MASKED;
                }
            }
        }
        cache.real = keyReal;
        boolean padded = false;
        for (boolean[] row : keyReal) {
            for (boolean isReal : row) {
                padded |= !isReal;
            }
        }
        NDManager m = tokens.getManager();
        // one new token with no padding anywhere attends to every cached position: no bias needed (the common
        // decode step, so one op and one host-to-tensor copy fewer per layer)
        NDArray bias = fresh == 1 && !padded ? null : m.create(biasData, new Shape(batch, 1, fresh, total));
        NDArray pos = m.create(positions, new Shape(batch, fresh));
        NDArray x = embed(tokens, param("wte.weight")).add(embed(pos, param("wpe.weight")));
        for (int layer = 0; layer < config.layers(); layer++) {
            x = block(layer, x, bias, cache);
        }
        return logits(layerNorm(x, "lnf"));
    }

    /** One pre-LayerNorm transformer block; with a cache, keys and values of earlier tokens are reused. */
    private NDArray block(int layer, NDArray x, NDArray bias, KvCache cache) {
        String p = "h." + layer + ".";
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        int h = config.heads();
        int hs = config.headSize();
        NDList qkv = linear(layerNorm(x, p + "ln1"), p + "attn.qkv", true).split(3, 2);
        NDArray q;
        NDArray keysT;
        NDArray v;
        if (t == 1) {
            // one token (a decode step): moving the head axis across a length-1 axis is a plain reshape
            q = qkv.get(0).mul(1.0 / Math.sqrt(hs)).reshape(b, h, 1, hs);
            keysT = qkv.get(1).reshape(b, h, hs, 1);
            v = qkv.get(2).reshape(b, h, 1, hs);
        } else {
            q = qkv.get(0).mul(1.0 / Math.sqrt(hs)).reshape(b, t, h, hs).transpose(0, 2, 1, 3); // (B,H,T,hs)
            keysT = qkv.get(1).reshape(b, t, h, hs).transpose(0, 2, 3, 1); // (B,H,hs,T): ready for q @ k^T
            v = qkv.get(2).reshape(b, t, h, hs).transpose(0, 2, 1, 3); // (B,H,T,hs)
        }
        if (cache != null) {
            keysT = appendToCache(cache.keys, layer, keysT, 3, cache);
            v = appendToCache(cache.values, layer, v, 2, cache);
        }
        NDArray scores = q.matMul(keysT);
        NDArray attention = (bias == null ? scores : scores.add(bias)).softmax(-1);
        NDArray heads = attention.matMul(v); // (B,H,T,hs)
        NDArray y = (t == 1 ? heads : heads.transpose(0, 2, 1, 3)).reshape(b, t, config.dModel());
        x = x.add(linear(y, p + "attn.proj", true));
        NDArray hidden = linear(layerNorm(x, p + "ln2"), p + "mlp.fc", true).getNDArrayInternal().gelu();
        return x.add(linear(hidden, p + "mlp.proj", true));
    }

    /** Appends new keys or values along the sequence axis; the cache owns the result and frees the old array. */
    private static NDArray appendToCache(NDArray[] slots, int layer, NDArray fresh, int axis, KvCache cache) {
        NDArray old = slots[layer];
        NDArray all = old == null ? fresh : old.concat(fresh, axis);
        all.attach(cache.manager);
        if (old != null) {
            old.close();
        }
        slots[layer] = all;
        return all;
    }

    private NDArray causalBias(long length) {
        return causalBiases.computeIfAbsent(length, t -> {
            float[] data = new float[(int) (t * t)];
            for (int i = 0; i < t; i++) {
                for (int j = i + 1; j < t; j++) {
                    data[(int) (i * t + j)] = MASKED;
                }
            }
            return torchOwned(manager.create(data, new Shape(t, t)));
        });
    }

    private NDArray embed(NDArray ids, NDArray table) {
        return ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    }

    private NDArray linear(NDArray x, String name, boolean withBias) {
        NDArray bias = withBias ? param(name + ".bias") : null;
        return x.getNDArrayInternal().linear(x, param(name + ".weight"), bias).singletonOrThrow();
    }

    private NDArray layerNorm(NDArray x, String name) {
        return x.getNDArrayInternal()
                .layerNorm(x, new Shape(config.dModel()), param(name + ".weight"), param(name + ".bias"), 1e-5f)
                .singletonOrThrow();
    }

    private NDArray param(String name) {
        return parameters.get(name);
    }

    private void checkLength(long length) {
        if (length > config.context()) {
            throw new IllegalArgumentException("sequence of " + length + " tokens is longer than the model's context ("
                    + config.context() + ")");
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
