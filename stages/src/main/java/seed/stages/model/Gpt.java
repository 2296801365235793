package seed.stages.model;

import ai.djl.Device;
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
 * multi-head attention and a GELU MLP (4x wide), a final LayerNorm and a linear head (untied and exact GELU by
 * default; GPT-2's tied embeddings and tanh GELU as {@link GptConfig} options, for Hugging Face interop).
 *
 * <p>The whole model is this file, written with raw DJL NDArray ops on the PyTorch engine (fused {@code linear},
 * {@code layerNorm} and {@code embedding} kernels) so that nothing is hidden behind a framework. Parameters live in the
 * model's own NDManager as an ordered name -> array map with gradients attached; every activation lives in the
 * manager of the input tokens, so a caller closes one per-step manager and leaks nothing.
 *
 * <p>One forward path, {@link #hidden(NDArray, NDArray, KvCache)} (logits: {@link #forward(NDArray, NDArray, KvCache)}):
 * without a cache it is the training path; with a {@link KvCache} new tokens attend to the cached keys and values
 * and append their own (generation, and the reward model's shared prompt prefix). {@link #logits} is the head on
 * its own for heads that sit on the final hidden states (value head, reward head).
 *
 * <p>{@link #setPrecision} switches the matrix products to bf16 (see {@link Precision}); {@link #moveTo} places the
 * parameters on a device, and inputs from another device are copied to it.
 */
public final class Gpt implements AutoCloseable {

    private static final float MASKED = -1e9f;

    private final GptConfig config;
    private final NDManager manager;
    /** Mutable only through {@link #moveTo}; callers see the read-only view {@link #parameters()}. */
    private final Map<String, NDArray> parameterArrays;
    private final Map<String, NDArray> parameters;
    /** Causal attention biases by sequence length, created once per length in the model's manager (read-only). */
    private final Map<Long, NDArray> causalBiases = new ConcurrentHashMap<>();
    private volatile Precision precision = Precision.FP32;
    private volatile Device device;

    /** What models created from now on in this process compute in (the --precision / --device flags set these). */
    private static volatile Precision defaultPrecision = Precision.FP32;
    private static volatile Device defaultDevice;

    /**
     * Sets the precision and device every model created afterwards in this process starts with (the flags of commands
     * whose stages load their own models: generate, candidates, reward, rlhf). Trainers that take {@code TrainSettings}
     * apply the settings' own precision and device instead. null device = DJL's default (the best available).
     */
    public static void setProcessDefaults(Precision precision, Device device) {
        defaultPrecision = precision;
        defaultDevice = device;
    }

    private Gpt(GptConfig config, NDManager manager, Map<String, NDArray> parameters) {
        this.config = config;
        this.manager = manager;
        this.parameterArrays = parameters;
        this.parameters = Collections.unmodifiableMap(parameters);
        this.device = manager.getDevice();
        this.precision = defaultPrecision;
        if (defaultDevice != null) {
            moveTo(defaultDevice);
        }
    }

    /** The number format of the matrix products from now on (fp32 by default); returns this model. */
    public Gpt setPrecision(Precision precision) {
        this.precision = precision;
        return this;
    }

    public Precision precision() {
        return precision;
    }

    public Device device() {
        return device;
    }

    /**
     * Moves every parameter to {@code target} in place (same names, gradients re-attached) and returns this model;
     * a no-op on the current device. Arrays taken from {@link #parameters()} before the move are stale after it.
     */
    public Gpt moveTo(Device target) {
        if (target.equals(device)) {
            return this;
        }
        for (Map.Entry<String, NDArray> e : parameterArrays.entrySet()) {
            NDArray moved = e.getValue().toDevice(target, true);
            moved.setName(e.getKey());
            moved.setRequiresGradient(true);
            e.getValue().close();
            e.setValue(moved);
        }
        causalBiases.values().forEach(NDArray::close);
        causalBiases.clear();
        device = target;
        return this;
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
        if (!c.tiedEmbeddings()) {
            shapes.put("head.weight", new long[] {c.vocabSize(), d});
        }
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

    /** Logits (B, T, V) for token ids (B, T); no padding, no cache (the training path). */
    public NDArray forward(NDArray tokens) {
        return forward(tokens, null, null);
    }

    /** Logits (B, T, V) for left-padded token ids (B, T) with {@code attentionMask} (B, T): 1 real token, 0 padding. */
    public NDArray forward(NDArray tokens, NDArray attentionMask) {
        return forward(tokens, attentionMask, null);
    }

    /** The one forward pass: logits (B, t, V) of {@link #hidden(NDArray, NDArray, KvCache)}. */
    public NDArray forward(NDArray tokens, NDArray attentionMask, KvCache cache) {
        return logits(hidden(tokens, attentionMask, cache));
    }

    /** Final hidden states without a cache: {@link #hidden(NDArray, NDArray, KvCache)} with none. */
    public NDArray hidden(NDArray tokens, NDArray attentionMask) {
        return hidden(tokens, attentionMask, null);
    }

    /**
     * Final hidden states (B, t, D) after the last LayerNorm, for new tokens (B, t) that attend to everything already
     * in {@code cache} (null = nothing before them: training, scoring) and whose keys and values are appended to it.
     * {@code attentionMask} (B, t) marks real tokens with 1 and padding with 0 (null = all real): padded keys are
     * ignored and position ids count real tokens only, so a padded sequence sees exactly what it would see unpadded.
     * Prompts are left-padded; padding may also sit between a cached prefix and new tokens (the grouped reward model).
     */
    public NDArray hidden(NDArray tokens, NDArray attentionMask, KvCache cache) {
        NDManager m = tokens.getManager();
        tokens = onDevice(tokens);
        NDArray mask = attentionMask == null ? null : onDevice(attentionMask);
        NDArray positions;
        NDArray bias;
        if (cache == null) {
            long batch = tokens.getShape().get(0);
            long length = tokens.getShape().get(1);
            checkLength(length);
            if (mask == null) {
                positions = m.arange(0, (int) length, 1, DataType.INT64, device);
                bias = causalBias(length);
            } else {
                NDArray real = mask.toType(DataType.FLOAT32, false);
                positions = real.cumSum(1).sub(1).maximum(0).toType(DataType.INT64, false);
                NDArray padding = real.sub(1).mul(-MASKED).reshape(batch, 1, 1, length);
                bias = padding.add(causalBias(length));
            }
        } else {
            NDArray[] positionsAndBias = cache.advance(m, mask == null ? null : mask.toFloatArray(),
                    (int) tokens.getShape().get(0), (int) tokens.getShape().get(1), config.context(), device);
            positions = positionsAndBias[0];
            bias = positionsAndBias[1];
        }
        long b = tokens.getShape().get(0);
        long t = tokens.getShape().get(1);
        NDArray x = embed(tokens, param("wte.weight")).add(embed(positions, param("wpe.weight")));
        for (int layer = 0; layer < config.layers(); layer++) {
            x = block(layer, x, b, t, bias, cache);
        }
        return layerNorm(x, "lnf");
    }

    /** The language-model head: hidden states (..., D) to logits (..., V), in fp32 whatever the precision. */
    public NDArray logits(NDArray hidden) {
        return linear(hidden, config.tiedEmbeddings() ? "wte" : "head", false, true);
    }

    /** A new, empty KV cache for {@code batch} sequences whose arrays live in {@code manager}. */
    public KvCache newCache(NDManager manager, int batch) {
        return new KvCache(manager, config.layers(), batch);
    }

    /** One pre-LayerNorm transformer block; with a cache, keys and values of earlier tokens are reused. */
    private NDArray block(int layer, NDArray x, long b, long t, NDArray bias, KvCache cache) {
        String p = "h." + layer + ".";
        int h = config.heads();
        int hs = config.headSize();
        // in bf16 the attention products stay fp32 (~8% of the FLOPs at d512, ctx 256): fp32 q, k, v
        NDArray qkv = linear(layerNorm(x, p + "ln1"), p + "attn.qkv", true, true);
        NDArray q;
        NDArray keysT;
        NDArray v;
        if (t == 1) {
            // one token (a decode step, where per-op overhead dominates): (B,1,3D) viewed as (B,3H,1,hs) splits
            // straight into q, k, v per head; only k needs turning into a column
            NDList parts = qkv.reshape(b, 3L * h, 1, hs).split(3, 1);
            q = parts.get(0).mul(attentionScale());
            keysT = parts.get(1).reshape(b, h, hs, 1);
            v = parts.get(2);
        } else {
            NDList parts = qkv.split(3, 2);
            q = parts.get(0).mul(attentionScale()).reshape(b, t, h, hs).transpose(0, 2, 1, 3); // (B,H,T,hs)
            keysT = parts.get(1).reshape(b, t, h, hs).transpose(0, 2, 3, 1); // (B,H,hs,T): ready for q @ k^T
            v = parts.get(2).reshape(b, t, h, hs).transpose(0, 2, 1, 3); // (B,H,T,hs)
        }
        if (cache != null) {
            keysT = appendToCache(cache.keys, layer, keysT, 3, cache);
            v = appendToCache(cache.values, layer, v, 2, cache);
        }
        NDArray scores = q.matMul(keysT);
        NDArray attention = (bias == null ? scores : scores.add(bias)).softmax(-1);
        NDArray heads = attention.matMul(v); // (B,H,T,hs)
        NDArray y = (t == 1 ? heads : heads.transpose(0, 2, 1, 3)).reshape(b, t, config.dModel());
        x = x.add(linear(y, p + "attn.proj", true, true));
        NDArray hidden = gelu(linear(layerNorm(x, p + "ln2"), p + "mlp.fc", true));
        return x.add(linear(hidden, p + "mlp.proj", true, true));
    }

    /** Exact GELU (one fused kernel), or GPT-2's tanh approximation 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))). */
    private NDArray gelu(NDArray x) {
        if (config.activation() == GptConfig.Activation.GELU) {
            return x.getNDArrayInternal().gelu();
        }
        NDArray inner = x.pow(3).mul(0.044715f).add(x).mul((float) Math.sqrt(2 / Math.PI));
        return inner.tanh().add(1f).mul(x).mul(0.5f);
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

    /**
     * 1/sqrt(head size) as a 0-d array made once per device: {@code mul(Number)} in DJL creates, multiplies by and
     * closes a new scalar array on every call (three native calls and a direct buffer instead of one).
     */
    private NDArray attentionScale() {
        return causalBiases.computeIfAbsent(-1L, k -> {
            NDArray scale = manager.create((float) (1.0 / Math.sqrt(config.headSize())));
            return scale.getDevice().equals(device) ? scale : scale.toDevice(device, false);
        });
    }

    private NDArray causalBias(long length) {
        return causalBiases.computeIfAbsent(length, t -> {
            float[] data = new float[(int) (t * t)];
            for (int i = 0; i < t; i++) {
                for (int j = i + 1; j < t; j++) {
                    data[(int) (i * t + j)] = MASKED;
                }
            }
            NDArray bias = torchOwned(manager.create(data, new Shape(t, t)));
            return bias.getDevice().equals(device) ? bias : bias.toDevice(device, false);
        });
    }

    private NDArray embed(NDArray ids, NDArray table) {
        return ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    }

    /** A linear layer whose output stays in the compute precision (bf16 in mixed precision): see below. */
    private NDArray linear(NDArray x, String name, boolean withBias) {
        return linear(x, name, withBias, false);
    }

    /**
     * torch's fused linear. In bf16 the input, weight and bias are cast to bf16 (differentiable casts, see
     * {@link Bf16}); with {@code fp32Out} the bias is added in fp32 instead, which brings the product back to fp32
     * (the projections into the residual stream, the head, and q/k/v). As under PyTorch's autocast: the linear layers'
     * products in bf16; residual stream, LayerNorm, softmax and loss in fp32; GELU on the bf16 product.
     */
    private NDArray linear(NDArray x, String name, boolean withBias, boolean fp32Out) {
        NDArray weight = param(name + ".weight");
        NDArray bias = withBias ? param(name + ".bias") : null;
        if (precision == Precision.BF16) {
            NDManager step = x.getManager();
            NDArray weight16 = Bf16.cast(weight);
            weight16.attach(step); // a cast of a parameter would belong to the model's manager and pile up there
            NDArray bias16 = null;
            if (bias != null && !fp32Out) {
                bias16 = Bf16.cast(bias);
                bias16.attach(step);
            }
            NDArray x16 = Bf16.cast(x);
            // no bias inside the bf16 product: libtorch's bf16 addmm path is measurably slower than mm + add
            NDArray product = x16.getNDArrayInternal().linear(x16, weight16, null).singletonOrThrow();
            return fp32Out ? Bf16.toFp32(product, bias) : bias16 == null ? product : product.add(bias16);
        }
        return x.getNDArrayInternal().linear(x, weight, bias).singletonOrThrow();
    }

    private NDArray layerNorm(NDArray x, String name) {
        return x.getNDArrayInternal()
                .layerNorm(x, new Shape(config.dModel()), param(name + ".weight"), param(name + ".bias"), 1e-5f)
                .singletonOrThrow();
    }

    private NDArray param(String name) {
        return parameters.get(name);
    }

    /** Inputs created on another device (e.g. a CPU manager while the model is on a GPU) are copied to the model's. */
    private NDArray onDevice(NDArray array) {
        return array.getDevice().equals(device) ? array : array.toDevice(device, false);
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
