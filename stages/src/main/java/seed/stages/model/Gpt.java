package seed.stages.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;
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
 * <p>The math is {@link #PROGRAM}, forty lines of TorchScript that libtorch compiles once per shape (see
 * {@link TorchScript}): a whole forward pass is one native call on fused kernels (linear, LayerNorm, GELU, flash
 * attention), where DJL's op-by-op API cost ~100 calls and could reach neither fused attention nor bf16. This class
 * owns the parameters (an ordered name -> array map in the model's own NDManager, gradients attached, passed to the
 * program as arguments so optimizers and checkpoints see plain DJL arrays), prepares position ids and attention
 * masks, and keeps the KV cache. Activations live in the manager of the input tokens, so a caller closes one
 * per-step manager and leaks nothing.
 *
 * <p>One forward path, {@link #hidden(NDArray, NDArray, KvCache)} (logits: {@link #forward(NDArray, NDArray, KvCache)}):
 * without a cache it is the training path; with a {@link KvCache} new tokens attend to the cached keys and values
 * and append their own (generation, and the reward model's shared prompt prefix). One new token per sequence
 * without recording (generation's step) runs the program's {@code decode} instead, the same math in fewer ops;
 * {@link #nextLogits} is that step with token ids and logits in Java arrays. {@link #logits} is the head on its own
 * for heads that sit on the final hidden states (value head, reward head).
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
    /** The parameters in {@link #parameterShapes} order, as the program's weight list (replaced by {@link #moveTo}). */
    private volatile TorchScript.FixedList weightList;
    /** Read-only position ids and attention masks by key, created once in the model's manager. */
    private final Map<String, NDArray> constants = new ConcurrentHashMap<>();
    /** The compiled {@link #PROGRAM} by precision (for this shape and device). */
    private final Map<Precision, TorchScript> programs = new ConcurrentHashMap<>();
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
        this.weightList = new TorchScript.FixedList(parameters.values().toArray(new NDArray[0]));
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
        constants.values().forEach(NDArray::close);
        constants.clear();
        programs.values().forEach(program -> program.forget(weightList));
        programs.clear();
        weightList = new TorchScript.FixedList(parameterArrays.values().toArray(new NDArray[0]));
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
        return pass(tokens, attentionMask, cache, true);
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
     *
     * <p>The math is {@link #PROGRAM}, run in one native call; this method prepares position ids and the attention
     * bias (none at all for the causal, unpadded case, where the fused attention kernel applies the causal rule).
     */
    public NDArray hidden(NDArray tokens, NDArray attentionMask, KvCache cache) {
        return pass(tokens, attentionMask, cache, false);
    }

    /** {@link #hidden(NDArray, NDArray, KvCache)}, or with {@code toLogits} the logits in the same native call. */
    private NDArray pass(NDArray tokens, NDArray attentionMask, KvCache cache, boolean toLogits) {
        NDManager m = tokens.getManager();
        tokens = onDevice(tokens);
        NDArray mask = attentionMask == null ? null : onDevice(attentionMask);
        long batch = tokens.getShape().get(0);
        long length = tokens.getShape().get(1);
        // recording (autograd on) decides the cache's form here and the program's call path in TorchScript.call
        boolean recording = JniUtils.isGradMode();
        NDArray positions;
        NDArray bias;
        long start = 0;
        if (cache == null) {
            checkLength(length);
            if (mask == null) {
                positions = constant("positions/" + length, () -> manager.arange(0, (int) length, 1, DataType.INT64));
                bias = noBias();
            } else {
                NDArray real = mask.toType(DataType.FLOAT32, false);
                positions = real.cumSum(1).sub(1).maximum(0).toType(DataType.INT64, false);
                NDArray padding = real.sub(1).mul(-MASKED).reshape(batch, 1, 1, length);
                bias = padding.add(causalBias(length));
            }
        } else {
            start = cache.length();
            if (recording) {
                cache.toArrays(); // recording: the cache must be arrays with autograd history (before advance)
            }
            boolean decode = !recording && length == 1 && start > 0;
            NDArray[] positionsAndBias = cache.advance(m, mask == null ? null : mask.toFloatArray(),
                    (int) batch, (int) length, config.context(), device, !decode);
            bias = positionsAndBias[1] == null ? noBias() : positionsAndBias[1];
            if (decode) {
                positions = positionsAndBias[0] == null ? noBias() : positionsAndBias[0];
                return decode(tokens, positions, bias, cache, start, toLogits);
            }
            positions = positionsAndBias[0];
        }
        return run(tokens, positions, bias, cache, start, recording, toLogits);
    }

    /**
     * One new token per sequence after {@code start} cached positions, without recording: the program's
     * {@code decode}, generation's step. Where {@code extend} runs the general path (any number of tokens) in ~450
     * dispatched ATen ops a step of the benchmark model, decode runs the same math in ~250 (libtorch's profiler;
     * {@code linear} and the fused attention dispatch several each inside), on the weights of
     * {@link #decodeWeights}. {@code positions} and {@code bias} are empty unless the cache holds padding.
     */
    private NDArray decode(NDArray tokens, NDArray positions, NDArray bias, KvCache cache, long start,
            boolean toLogits) {
        IValue[] lists = cache.lists();
        return program().call("decode", tokens.getManager(), tokens, positions, bias, decodeWeights(cache), lists[0],
                lists[1], cache.decodeViews(), start, toLogits, noBias()).get(0);
    }

    /**
     * Logits, one row of V per sequence, for one new token per sequence after everything in {@code cache} (which
     * must hold something), whose keys and values are appended: generation's step. The math of
     * {@link #forward(NDArray, NDArray, KvCache)} on (B, 1) token ids, but the ids and logits pass through Java
     * memory that libtorch tensors alias (see {@code KvCache}), so a step makes no arrays. Without recording only;
     * with it, or on a GPU, it runs {@code forward}.
     */
    public float[][] nextLogits(int[] tokens, KvCache cache) {
        if (cache.length() == 0) {
            throw new IllegalArgumentException("nextLogits continues a cache: prefill it with forward first");
        }
        if (JniUtils.isGradMode() || !Device.Type.CPU.equals(device.getDeviceType())) {
            try (NDManager m = manager.newSubManager(device)) {
                long[] ids = Arrays.stream(tokens).asLongStream().toArray();
                float[] flat = forward(m.create(ids, new Shape(tokens.length, 1)), null, cache).toFloatArray();
                float[][] rows = new float[tokens.length][];
                for (int b = 0; b < rows.length; b++) {
                    rows[b] = Arrays.copyOfRange(flat, b * config.vocabSize(), (b + 1) * config.vocabSize());
                }
                return rows;
            }
        }
        long start = cache.length();
        IValue[] lists = cache.lists();
        Object weights = decodeWeights(cache);
        IValue[] io = cache.stepInputs(tokens, config.vocabSize(), config.context(), noBias());
        program().callValue("decode", io[0], io[1], io[2], weights, lists[0], lists[1], cache.decodeViews(), start,
                true, io[3]).close();
        return cache.stepLogits(config.vocabSize());
    }

    /**
     * The weights the program's decode takes for {@code cache}'s sequences. One sequence in fp32: the model's own
     * (GEMVs on their (out, in) rows cost no more than on any other layout). A batch, or bf16: the cache's copy in
     * decode layout (see the program's decode_matrix: transposed for addmm in fp32, 25% faster at batch 16; cast
     * once instead of every step in bf16), made at its first decode step and kept for its lifetime, so training the
     * model while one of its caches is in use leaves that cache on the old weights (generation makes a new cache
     * per call).
     */
    private Object decodeWeights(KvCache cache) {
        if (precision == Precision.FP32 && cache.batchSize() == 1) {
            return weightList;
        }
        return cache.decodeWeights(() -> program().callValue("decode_weights", weightList));
    }

    /**
     * Runs the program on prepared inputs: hidden states, or with {@code toLogits} the logits in the same call.
     * Without recording, a cache is filled in place (its fast form); with it, the layers' new keys and values come
     * back as arrays that keep their autograd history.
     */
    private NDArray run(NDArray tokens, NDArray positions, NDArray bias, KvCache cache, long start, boolean recording,
            boolean toLogits) {
        NDManager m = tokens.getManager();
        if (cache == null) {
            return program().call(toLogits ? "logits" : "hidden", m, tokens, positions, bias, weightList).get(0);
        }
        if (!recording) {
            IValue[] lists = cache.lists();
            return program().call("extend", m, tokens, positions, bias, weightList, lists[0], lists[1], start,
                    toLogits).get(0);
        }
        NDList out = cache.keys[0] == null
                ? program().call("prefill_recorded", m, tokens, positions, bias, weightList)
                : program().call("extend_recorded", m, tokens, positions, bias, weightList, cache.keys,
                        cache.values);
        for (int layer = 0; layer < config.layers(); layer++) {
            replace(cache, cache.keys, layer, out.get(1 + layer));
            replace(cache, cache.values, layer, out.get(1 + config.layers() + layer));
        }
        return toLogits ? logits(out.get(0)) : out.get(0);
    }

    /** The language-model head: hidden states (..., D) to logits (..., V), in fp32 whatever the precision. */
    public NDArray logits(NDArray hidden) {
        return program().call("head", hidden.getManager(), hidden, weightList).get(0);
    }

    /** A new, empty KV cache for {@code batch} sequences whose arrays live in {@code manager}. */
    public KvCache newCache(NDManager manager, int batch) {
        return new KvCache(manager, config.layers(), batch);
    }

    /**
     * The model's math, in TorchScript (the language libtorch compiles; Python syntax), with this model's shape and
     * precision substituted for the capitals. Weights come in as {@code p}, a list in {@link #parameterShapes}
     * order (embeddings, 12 per block, final LayerNorm, head).
     *
     * <ul>
     *   <li>Methods: {@code hidden} / {@code logits}: the training and scoring path (no cache). {@code extend}: new
     *       tokens after {@code start} cached positions, writing their keys and values into the per-layer buffers of
     *       {@code keys} / {@code values} in place (generation; no autograd). {@code decode}: extend for one token
     *       per sequence, straight-line, in ~250 dispatched ops instead of ~450 (a step of the benchmark model is
     *       mostly per-op cost), on the weights of {@code decode_weights} for a batch or bf16.
     *       {@code prefill_recorded} / {@code extend_recorded}: the same with autograd, returning the grown keys and
     *       values as new tensors.
     *   <li>Attention is torch's fused {@code scaled_dot_product_attention} (flash attention on CPU: no (T x T)
     *       probability matrix is stored for backward). The causal rule is the kernel's own when nothing is cached
     *       and nothing is padded; otherwise {@code bias} (B, 1, t, T) carries it (0 = may attend, -1e9 = not), and
     *       an empty {@code bias} with a cache means one new token that may see everything. One exception, bf16
     *       training (EXPLICIT, with autograd on): attention is written out (bf16 products; the softmax kernel
     *       accumulates in fp32 and returns bf16, which is what autocast feeds the next product), because libtorch
     *       2.7.1's bf16 flash-attention backward is slow on CPU (measured at 8 layers d512 ctx 256: backward
     *       950 -> 760 ms, forward 345 -> 420 ms per step). In fp32 the fused kernel is as fast or faster: it stays.
     *   <li>Mixed precision as PyTorch's CPU autocast: with LOW = bfloat16 the inputs, weights and biases of every
     *       linear layer and the attention inputs are cast to bf16 (differentiable casts, fp32 master weights);
     *       residual stream, LayerNorm, softmax statistics and the logits stay fp32. With LOW = float32 every cast
     *       is a no-op.
     * </ul>
     */
    static final String PROGRAM = """
            class Gpt(Module):
              __parameters__ = []
              __buffers__ = []
              training : bool
              _is_full_backward_hook : Optional[bool]
              def hidden(self: __torch__.Gpt, tokens: Tensor, positions: Tensor, bias: Tensor,
                         p: List[Tensor]) -> List[Tensor]:
                none : List[Tensor] = []
                return [__torch__.layers(tokens, positions, bias, p, none, none, -1)]
              def logits(self: __torch__.Gpt, tokens: Tensor, positions: Tensor, bias: Tensor,
                         p: List[Tensor]) -> List[Tensor]:
                none : List[Tensor] = []
                return [__torch__.head(__torch__.layers(tokens, positions, bias, p, none, none, -1), p)]
              def head(self: __torch__.Gpt, hidden: Tensor, p: List[Tensor]) -> List[Tensor]:
                return [__torch__.head(hidden, p)]
              def extend(self: __torch__.Gpt, tokens: Tensor, positions: Tensor, bias: Tensor, p: List[Tensor],
                         keys: List[Tensor], values: List[Tensor], start: int, to_logits: bool) -> List[Tensor]:
                x = __torch__.layers(tokens, positions, bias, p, keys, values, start)
                if to_logits:
                  x = __torch__.head(x, p)
                return [x]
              def decode_weights(self: __torch__.Gpt, p: List[Tensor]) -> List[Tensor]:
                # the weights as decode takes them for a batch, made once per cache (see Gpt.decodeWeights), in p's
                # order with the head at 4 + 12 * layers: linear weights as decode_matrix makes them
                w : List[Tensor] = [p[0], p[1]]
                for i in range(LAYERS):
                  l = p[2 + 12 * i:14 + 12 * i]
                  w += [l[0], l[1], __torch__.decode_matrix(l[2]), l[3].to(LOW), __torch__.decode_matrix(l[4]),
                        l[5].to(LOW), l[6], l[7], __torch__.decode_matrix(l[8]), l[9].to(LOW),
                        __torch__.decode_matrix(l[10]), l[11].to(LOW)]
                return w + [p[2 + 12 * LAYERS], p[3 + 12 * LAYERS], __torch__.decode_matrix(p[HEAD])]
              def decode(self: __torch__.Gpt, tokens: Tensor, positions: Tensor, bias: Tensor, w: List[Tensor],
                         keys: List[Tensor], values: List[Tensor], views: List[Tensor], start: int,
                         to_logits: bool, out: Tensor) -> List[Tensor]:
                # extend for one new token per sequence (generation's step) in as few dispatched ops as possible.
                # w: fp32 and one sequence, the model's own p (GEMVs on its (out, in) rows); else decode_weights.
                # positions and bias are empty unless the cache holds padding (bias may span more keys than there
                # are); the result is copied into out unless out is empty
                b = tokens.size(0)
                t = start + 1
                vector = DECODE_FP32 and b == 1
                if len(views) == 0:
                  # made once per cache: (B * H) views of the buffers for batched products, (hs, T) keys and
                  # (T, hs) values, then the constants 1/sqrt(2) and 0 (an input baddbmm ignores)
                  for i in range(LAYERS):
                    __torch__.full_context(keys, values, i, keys[i])
                    views.append(keys[i].view([b * HEADS, CONTEXT, HEAD_SIZE]).transpose(1, 2))
                    views.append(values[i].view([b * HEADS, CONTEXT, HEAD_SIZE]))
                  views.append(torch.full([1], 0.5 ** 0.5, dtype=w[0].dtype, device=w[0].device))
                  views.append(torch.zeros([1], dtype=w[0].dtype, device=w[0].device))
                shape = [DMODEL] if vector else [b, DMODEL]
                if positions.numel() == 0:
                  position = torch.select(w[1], 0, start)
                else:
                  position = torch.embedding(w[1], positions).view(shape)
                if vector:
                  x = torch.add(torch.select(w[0], 0, int(tokens.item())), position) # a row is cheaper than a gather
                else:
                  x = torch.add(torch.embedding(w[0], tokens).view(shape), position)
                padded = bias.numel() > 0
                if padded:
                  bias = torch.narrow(bias, 3, 0, t)
                for i in range(LAYERS):
                  j = 2 + 12 * i
                  h = torch.layer_norm(x, [DMODEL], w[j], w[j + 1], 1e-5, False)
                  qkv = __torch__.dense(h.to(LOW), w[j + 2], w[j + 3], 1.0).view([b, 3, HEADS, 1, HEAD_SIZE])
                  torch.narrow(keys[i], 2, start, 1).copy_(torch.select(qkv, 1, 1))
                  torch.narrow(values[i], 2, start, 1).copy_(torch.select(qkv, 1, 2))
                  q = torch.select(qkv, 1, 0)
                  if DECODE_FP32:
                    # softmax(q K^T / sqrt(hs)) V as two batched GEMVs over all heads: cheaper than the fused
                    # kernel for one query
                    s = torch.baddbmm(views[2 * LAYERS + 1], q.reshape([b * HEADS, 1, HEAD_SIZE]),
                                      torch.narrow(views[2 * i], 2, 0, t), beta=0.0, alpha=SCALE)
                    if padded:
                      s = torch.add(s.view([b, HEADS, 1, t]), bias).view([b * HEADS, 1, t])
                    y = torch.bmm(torch.softmax(s, -1), torch.narrow(views[2 * i + 1], 1, 0, t))
                  else:
                    # bf16 as extend computes it: the fused kernel (a small bf16 product costs ~25 us a call here)
                    k = torch.narrow(keys[i], 2, 0, t)
                    v = torch.narrow(values[i], 2, 0, t)
                    if padded:
                      y = torch.scaled_dot_product_attention(q, k, v, bias.to(q.dtype), 0.0, False)
                    else:
                      y = torch.scaled_dot_product_attention(q, k, v, None, 0.0, False)
                  x = torch.add(x, __torch__.dense(y.view(shape), w[j + 4], w[j + 5], 1.0))
                  h = torch.layer_norm(x, [DMODEL], w[j + 6], w[j + 7], 1e-5, False)
                  z = __torch__.dense(h.to(LOW), w[j + 8], w[j + 9], 1.0)
                  if DECODE_ERF:
                    # exact gelu as 0.5 (z + z erf(z / sqrt 2)), the 0.5 applied by the next product: three cheap
                    # ops where torch.gelu's exact form goes through a oneDNN primitive (~8 us a call at this size)
                    h = torch.addcmul(z, z, torch.mul(z, views[2 * LAYERS]).erf_())
                    x = torch.add(x, __torch__.dense(h, w[j + 10], w[j + 11], 0.5))
                  else:
                    x = torch.add(x, __torch__.dense(torch.gelu(z, approximate=GELU), w[j + 10], w[j + 11], 1.0))
                x = torch.layer_norm(x, [DMODEL], w[2 + 12 * LAYERS], w[3 + 12 * LAYERS], 1e-5, False)
                if not to_logits:
                  x = x.view([b, 1, DMODEL])
                elif vector:
                  x = torch.mv(w[HEAD], x).view([b, 1, -1])
                elif DECODE_FP32:
                  x = torch.mm(x, w[4 + 12 * LAYERS]).view([b, 1, -1])
                else:
                  x = torch.linear(x.to(LOW), w[4 + 12 * LAYERS], None).float().view([b, 1, -1])
                if out.numel() == 0:
                  return [x]
                return [out.copy_(x)]
              def prefill_recorded(self: __torch__.Gpt, tokens: Tensor, positions: Tensor, bias: Tensor,
                                   p: List[Tensor]) -> List[Tensor]:
                keys : List[Tensor] = []
                values : List[Tensor] = []
                x = __torch__.layers(tokens, positions, bias, p, keys, values, -2)
                return [x] + keys + values
              def extend_recorded(self: __torch__.Gpt, tokens: Tensor, positions: Tensor, bias: Tensor,
                                  p: List[Tensor], keys: List[Tensor], values: List[Tensor]) -> List[Tensor]:
                x = __torch__.layers(tokens, positions, bias, p, keys, values, -2)
                return [x] + keys + values
            def head(hidden: Tensor, p: List[Tensor]) -> Tensor:
                return torch.linear(hidden.to(LOW), p[HEAD].to(LOW), None).float()
            def layers(tokens: Tensor, positions: Tensor, bias: Tensor, p: List[Tensor],
                       keys: List[Tensor], values: List[Tensor], start: int) -> Tensor:
                # start: -1 = no cache; -2 = grow keys/values by concatenation (autograd); >= 0 = write in place
                # the residual stream is 2-D (B * t, D): torch's linear on 2-D inputs is one addmm, no reshapes
                b = tokens.size(0)
                t = tokens.size(1)
                x = torch.add(torch.embedding(p[0], tokens), torch.embedding(p[1], positions)).view([b * t, DMODEL])
                for i in range(LAYERS):
                  x = __torch__.block(x, b, t, p[2 + 12 * i:14 + 12 * i], bias, keys, values, start, i)
                x = torch.layer_norm(x, [DMODEL], p[2 + 12 * LAYERS], p[3 + 12 * LAYERS], 1e-5, False)
                return x.view([b, t, DMODEL])
            def decode_matrix(weight: Tensor) -> Tensor:
                # fp32: transposed to a contiguous (in, out) copy, so a batch's product is a plain GEMM by addmm
                # (25% faster than linear's strided (out, in) one at batch 16); bf16: cast, as extend's linear takes it
                if DECODE_FP32:
                  return weight.t().contiguous()
                return weight.to(LOW)
            def dense(x: Tensor, weight: Tensor, bias: Tensor, alpha: float) -> Tensor:
                # bias + alpha * (x @ weight^T) on decode's weights: fp32 one sequence (x 1-D), a GEMV on the model's
                # own (out, in) weight (as fast as on a transposed copy, and no copy); fp32 batch, addmm on
                # decode_matrix's (in, out); bf16 as extend (alpha is 1 there)
                if DECODE_FP32:
                  if x.dim() == 1:
                    return torch.addmv(bias, weight, x, beta=1.0, alpha=alpha)
                  return torch.addmm(bias, x, weight, beta=1.0, alpha=alpha)
                return torch.linear(x, weight, bias)
            def full_context(keys: List[Tensor], values: List[Tensor], i: int, like: Tensor):
                # layer i's buffers of the fast form, (B, H, context, hs) in like's type; made, or grown when the
                # cache came from shorter arrays
                b = like.size(0)
                if len(keys) <= i:
                  keys.append(torch.zeros([b, HEADS, CONTEXT, HEAD_SIZE], dtype=like.dtype, device=like.device))
                  values.append(torch.zeros([b, HEADS, CONTEXT, HEAD_SIZE], dtype=like.dtype, device=like.device))
                elif keys[i].size(2) < CONTEXT:
                  grow = [b, HEADS, CONTEXT - keys[i].size(2), HEAD_SIZE]
                  keys[i] = torch.cat([keys[i], torch.zeros(grow, dtype=like.dtype, device=like.device)], 2)
                  values[i] = torch.cat([values[i], torch.zeros(grow, dtype=like.dtype, device=like.device)], 2)
            def block(x: Tensor, b: int, t: int, w: List[Tensor], bias: Tensor, keys: List[Tensor],
                      values: List[Tensor], start: int, i: int) -> Tensor:
                ln1_weight, ln1_bias, qkv_weight, qkv_bias = w[0], w[1], w[2], w[3]
                proj_weight, proj_bias, ln2_weight, ln2_bias = w[4], w[5], w[6], w[7]
                fc_weight, fc_bias, out_weight, out_bias = w[8], w[9], w[10], w[11]
                h = torch.layer_norm(x, [DMODEL], ln1_weight, ln1_bias, 1e-5, False)
                qkv = torch.linear(h.to(LOW), qkv_weight.to(LOW), qkv_bias.to(LOW))
                qkv = qkv.view([b, t, 3, HEADS, HEAD_SIZE]).permute([2, 0, 3, 1, 4])
                q, k, v = torch.unbind(qkv, 0)
                past = 0
                if start == -2:
                  if len(keys) > i:
                    past = keys[i].size(2)
                    k = torch.cat([keys[i], k], 2)
                    v = torch.cat([values[i], v], 2)
                    keys[i] = k
                    values[i] = v
                  else:
                    keys.append(k)
                    values.append(v)
                elif start >= 0:
                  past = start
                  __torch__.full_context(keys, values, i, k)
                  torch.narrow(keys[i], 2, start, t).copy_(k)
                  torch.narrow(values[i], 2, start, t).copy_(v)
                  k = torch.narrow(keys[i], 2, 0, start + t)
                  v = torch.narrow(values[i], 2, 0, start + t)
                if EXPLICIT and torch.is_grad_enabled():
                  # bf16 training: attention written out; the softmax kernel accumulates in fp32 and its bf16
                  # output is what autocast would cast the probabilities to before multiplying by v. One baddbmm
                  # computes scale * q k^T + mask (PyTorch's reference spends three passes on it).
                  keys_seen = k.size(2)
                  mask = torch.zeros([1, 1], dtype=q.dtype, layout=None, device=x.device, pin_memory=None)
                  if bias.numel() > 0:
                    mask = bias.to(q.dtype).expand([b, HEADS, t, keys_seen]).reshape([b * HEADS, t, keys_seen])
                  elif past == 0 and t > 1:
                    causal = torch.full([t, t], -1e9, dtype=q.dtype, layout=None, device=x.device, pin_memory=None)
                    mask = torch.triu(causal, 1)
                  scores = torch.baddbmm(mask, q.reshape([b * HEADS, t, HEAD_SIZE]),
                                         k.reshape([b * HEADS, keys_seen, HEAD_SIZE]).transpose(1, 2),
                                         beta=1.0, alpha=SCALE)
                  y = torch.bmm(torch.softmax(scores, -1), v.reshape([b * HEADS, keys_seen, HEAD_SIZE]))
                  y = y.view([b, HEADS, t, HEAD_SIZE])
                elif bias.numel() == 0:
                  y = torch.scaled_dot_product_attention(q, k, v, None, 0.0, past == 0 and t > 1)
                else:
                  y = torch.scaled_dot_product_attention(q, k, v, bias.to(q.dtype), 0.0, False)
                y = y.transpose(1, 2).reshape([b * t, DMODEL])
                x = torch.add(x, torch.linear(y, proj_weight.to(LOW), proj_bias.to(LOW)))
                h = torch.layer_norm(x, [DMODEL], ln2_weight, ln2_bias, 1e-5, False)
                h = torch.gelu(torch.linear(h.to(LOW), fc_weight.to(LOW), fc_bias.to(LOW)), approximate=GELU)
                return torch.add(x, torch.linear(h, out_weight.to(LOW), out_bias.to(LOW)))
            """;

    /** {@link #PROGRAM} for this model's shape and precision, compiled once per shape, precision and device. */
    private TorchScript program() {
        TorchScript compiled = programs.get(precision);
        if (compiled != null) {
            return compiled;
        }
        if (precision == Precision.BF16 && !device.isGpu()) {
            CpuFeatures.warnIfBf16IsEmulated();
        }
        return programs.computeIfAbsent(precision, p -> TorchScript.compile("Gpt", source(config, p), device));
    }

    /** {@link #PROGRAM} with the capitals replaced for {@code config} and {@code precision}. */
    static String source(GptConfig config, Precision precision) {
        return PROGRAM.replace("EXPLICIT", precision == Precision.BF16 ? "True" : "False")
                .replace("SCALE", String.valueOf(1.0 / Math.sqrt(config.headSize())))
                .replace("LAYERS", String.valueOf(config.layers()))
                .replace("DMODEL", String.valueOf(config.dModel()))
                .replace("HEAD_SIZE", String.valueOf(config.headSize()))
                .replace("CONTEXT", String.valueOf(config.context()))
                .replace("HEADS", String.valueOf(config.heads()))
                .replace("HEAD", config.tiedEmbeddings() ? "0" : String.valueOf(4 + 12 * config.layers()))
                // torch's dtype codes: 15 = bfloat16; in fp32 the casts are left out (each is a dispatched op)
                .replace(precision == Precision.BF16 ? "LOW" : ".to(LOW)", precision == Precision.BF16 ? "15" : "")
                // decode's fp32 forms (see the comments there); bf16 keeps the fused attention and torch's gelu
                .replace("DECODE_FP32", precision == Precision.FP32 ? "True" : "False")
                .replace("DECODE_ERF", precision == Precision.FP32
                        && config.activation() == GptConfig.Activation.GELU ? "True" : "False")
                .replace("GELU", config.activation() == GptConfig.Activation.GELU ? "\"none\"" : "\"tanh\"");
    }

    /** Stores a layer's new keys or values in the cache, which owns them from now on, and frees the old array. */
    private static void replace(KvCache cache, NDArray[] slots, int layer, NDArray fresh) {
        fresh.attach(cache.manager);
        if (slots[layer] != null) {
            slots[layer].close();
        }
        slots[layer] = fresh;
    }

    /** An empty array: "no attention bias" for the program (TorchScript arguments cannot be left out). */
    private NDArray noBias() {
        return constant("no-bias", () -> manager.zeros(new Shape(0)));
    }

    /** Read-only arrays made once per model and device (position ids, masks), in the model's manager. */
    private NDArray constant(String key, java.util.function.Supplier<NDArray> make) {
        return constants.computeIfAbsent(key, k -> {
            NDArray made = make.get();
            return made.getDevice().equals(device) ? made : made.toDevice(device, false);
        });
    }

    private NDArray causalBias(long length) {
        return constant("causal/" + length, () -> {
            int t = (int) length;
            float[] data = new float[t * t];
            for (int i = 0; i < t; i++) {
                for (int j = i + 1; j < t; j++) {
                    data[i * t + j] = MASKED;
                }
            }
            return torchOwned(manager.create(data, new Shape(t, t)));
        });
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
        programs.values().forEach(program -> program.forget(weightList));
        manager.close();
    }
}
