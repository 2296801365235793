package seed.stages.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import seed.stages.checkpoint.HostTensor;

/**
 * A decoder-only transformer of one of the {@link Family families}: GPT-2 (learned positions, LayerNorm, GELU MLP;
 * Seed's own models) or Llama (RoPE, RMSNorm, SwiGLU, grouped-query attention; the open models teams fine-tune).
 * What a family is lives in its {@link FamilySpec} (parameters, initialisation) and its program, a TorchScript
 * resource file ({@code gpt2.torchscript}, {@code llama.torchscript}) that {@link ProgramSource} renders for this
 * model's shape and libtorch compiles once (see {@link TorchScript}): a whole forward pass is one native call on
 * fused kernels (linear, LayerNorm, GELU, flash attention), where DJL's op-by-op API cost ~100 calls and could
 * reach neither fused attention nor bf16.
 *
 * <p>This class owns the parameters (an ordered name -> array map in the model's own NDManager, gradients attached,
 * passed to the program as one list in the family's order, so optimizers and checkpoints see plain DJL arrays),
 * prepares position ids and attention masks, keeps the KV cache, and carries optional LoRA adapters
 * ({@link #addAdapters}): extra parameters the program reads by name, with the base frozen. Activations live in
 * the manager of the input tokens, so a caller closes one per-step manager and leaks nothing.
 *
 * <p>One forward path, {@link #hidden(NDArray, NDArray, KvCache)} (logits: {@link #forward(NDArray, NDArray, KvCache)}):
 * without a cache it is the training path; with a {@link KvCache} new tokens attend to the cached keys and values
 * and append their own (generation, and the reward model's shared prompt prefix). One new token per sequence
 * without recording (generation's step) runs the program's {@code decode} instead where the family has one (GPT-2
 * without adapters), the same math in fewer ops;
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
    /** The compiled program by precision (for this model's parameters and device). */
    private final Map<Precision, TorchScript> programs = new ConcurrentHashMap<>();
    private volatile Precision precision = Precision.FP32;
    /** The adapters this model carries (null = none): their parameters train, every other one is frozen. */
    private volatile LoraSettings lora;
    private volatile Path adapterBase;
    /** False for a {@link #withoutAdapters()} view, which shares its parameters with the model it came from. */
    private final boolean ownsParameters;
    /** A view's own copies (modules that train beside the adapters), closed with it. */
    private final List<NDArray> viewCopies = new java.util.ArrayList<>();
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
        this(config, manager, parameters, true);
    }

    private Gpt(GptConfig config, NDManager manager, Map<String, NDArray> parameters, boolean ownsParameters) {
        this.ownsParameters = ownsParameters;
        this.config = config;
        this.manager = manager;
        this.parameterArrays = parameters;
        this.parameters = Collections.unmodifiableMap(parameters);
        this.weightList = new TorchScript.FixedList(parameters.values().toArray(new NDArray[0]));
        this.device = manager.getDevice();
        this.precision = defaultPrecision;
        if (defaultDevice != null && ownsParameters) {
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
            moved.setRequiresGradient(!isFrozen(e.getKey()));
            e.getValue().close();
            e.setValue(moved);
        }
        constants.values().forEach(NDArray::close);
        constants.clear();
        device = target;
        refreshWeightList();
        return this;
    }

    /** After the parameter set changed (device, adapters): a new weight list, and programs compiled anew. */
    private void refreshWeightList() {
        programs.values().forEach(program -> program.forget(weightList));
        programs.clear();
        weightList = new TorchScript.FixedList(parameterArrays.values().toArray(new NDArray[0]));
    }

    /** A freshly initialised model (the family's initialisation, e.g. N(0, 0.02), residual projections / sqrt(2L)). */
    public static Gpt initialize(GptConfig config, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, HostTensor> weights = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> entry : parameterShapes(config).entrySet()) {
            float[] data = config.family().spec().initialValues(entry.getKey(), entry.getValue(), config, random);
            weights.put(entry.getKey(), new HostTensor(entry.getValue(), data));
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

    /** Parameter names and shapes in the family's order; weight matrices are (out, in) as torch's linear expects. */
    public static Map<String, long[]> parameterShapes(GptConfig c) {
        return c.family().spec().parameterShapes(c);
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
            parameters.forEach((name, array) -> {
                if (!isAdapter(name)) {
                    array.set(other.parameters.get(name).toFloatArray());
                }
            });
        }
        if (lora != null) {
            loadAdapterWeights(weights);
        }
    }

    /** An independent deep copy, e.g. the frozen reference policy of RLHF. */
    public Gpt copy() {
        Gpt copy = fromWeights(config, weights());
        if (lora != null) {
            copy.addAdapters(lora, 0).loadAdapterWeights(adapterWeights());
        }
        return copy;
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
     * <p>The math is the family's program, run in one native call; this method prepares position ids and the attention
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
            boolean decode = !recording && length == 1 && start > 0 && hasDecode();
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
     * with it, on a GPU, or for a program without the decode fast path (Llama, adapters), it runs {@code forward}.
     */
    public float[][] nextLogits(int[] tokens, KvCache cache) {
        if (cache.length() == 0) {
            throw new IllegalArgumentException("nextLogits continues a cache: prefill it with forward first");
        }
        if (JniUtils.isGradMode() || !Device.Type.CPU.equals(device.getDeviceType()) || !hasDecode()) {
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

    /** The family's program for this model's parameters and precision, compiled once per source and device. */
    private TorchScript program() {
        TorchScript compiled = programs.get(precision);
        if (compiled != null) {
            return compiled;
        }
        if (precision == Precision.BF16 && !device.isGpu()) {
            CpuFeatures.warnIfBf16IsEmulated();
        }
        return programs.computeIfAbsent(precision, p -> TorchScript.compile("Gpt",
                ProgramSource.render(config, p, List.copyOf(parameterArrays.keySet()), lora), device));
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
        if (ownsParameters) {
            manager.close();
        } else {
            constants.values().forEach(NDArray::close);
            viewCopies.forEach(NDArray::close);
        }
    }

    /** Whether generation's one-token steps may take the program's decode fast path (GPT-2 without adapters). */
    private boolean hasDecode() {
        return config.family().spec().hasDecode() && lora == null;
    }

    // ---- LoRA ----------------------------------------------------------------------------------------------------

    /** The folder of the base model the adapters apply to (null when unknown), named by LoRA checkpoints. */
    public Path adapterBase() {
        return adapterBase;
    }

    /** The adapters this model carries, or null. */
    public LoraSettings lora() {
        return lora;
    }

    /** Whether {@code name} is a LoRA adapter's parameter (PEFT's {@code lora_A} / {@code lora_B}). */
    public static boolean isAdapter(String name) {
        return name.contains(".lora_A.") || name.contains(".lora_B.");
    }

    private boolean isFrozen(String name) {
        return lora != null && !isAdapter(name) && !lora.saves(name);
    }

    /** Whether {@code name} is saved with the adapters: an adapter, or a whole module trained beside them. */
    private boolean isSavedWithAdapters(String name) {
        return isAdapter(name) || (lora != null && lora.saves(name));
    }

    /**
     * Adds LoRA adapters to the projections {@code settings} targets in every layer and freezes every other
     * parameter; returns this model. A starts as PEFT starts it (Kaiming-uniform, bound 1 / sqrt(in)), B at zero,
     * so the model computes exactly what it computed before. Adapters sit in the weight list after their layer's
     * own parameters, so the program reads them by name like any other.
     */
    public Gpt addAdapters(LoraSettings settings, long seed) {
        return addAdapters(settings, seed, null);
    }

    /** {@link #addAdapters(LoraSettings, long)} on a base loaded from {@code baseFolder}, which checkpoints name. */
    public Gpt addAdapters(LoraSettings settings, long seed, Path baseFolder) {
        this.adapterBase = baseFolder;
        if (lora != null) {
            throw new IllegalStateException("this model already has adapters");
        }
        FamilySpec family = config.family().spec();
        List<String> modules = loraModules(family, settings.targets(), config);
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, NDArray> rebuilt = new LinkedHashMap<>();
        List<String> names = List.copyOf(parameterArrays.keySet());
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            rebuilt.put(name, parameterArrays.get(name));
            int layer = layerOf(family, name);
            int next = i + 1 < names.size() ? layerOf(family, names.get(i + 1)) : -1;
            if (layer >= 0 && next != layer) {
                for (String module : modules) {
                    String path = family.layerPrefix(layer) + module;
                    long[] shape = parameterArrays.get(path + ".weight").getShape().getShape();
                    float bound = (float) (1.0 / Math.sqrt(shape[1]));
                    float[] a = new float[Math.toIntExact(settings.rank() * shape[1])];
                    for (int k = 0; k < a.length; k++) {
                        a[k] = (float) ((random.nextDouble() * 2 - 1) * bound);
                    }
                    rebuilt.put(path + ".lora_A.weight", parameter(path + ".lora_A.weight", a,
                            new long[] {settings.rank(), shape[1]}));
                    rebuilt.put(path + ".lora_B.weight", parameter(path + ".lora_B.weight",
                            new float[Math.toIntExact(shape[0] * settings.rank())], new long[] {shape[0], settings.rank()}));
                }
            }
        }
        parameterArrays.clear();
        parameterArrays.putAll(rebuilt);
        this.lora = settings;
        parameterArrays.forEach((name, array) -> array.setRequiresGradient(!isFrozen(name)));
        refreshWeightList();
        return this;
    }

    /** The module paths (after the layer prefix) of {@code targets}, which may be full (q_proj) or short (q). */
    static List<String> loraModules(FamilySpec family, List<String> targets, GptConfig config) {
        if (family.loraModules().isEmpty()) {
            throw new IllegalArgumentException("LoRA is implemented for the Llama family; this model is "
                    + config.family().name().toLowerCase());
        }
        List<String> modules = new java.util.ArrayList<>();
        for (String target : targets) {
            String found = null;
            for (Map.Entry<String, String> m : family.loraModules().entrySet()) {
                String last = m.getKey().substring(m.getKey().lastIndexOf('.') + 1);
                if (target.equals(m.getValue()) || target.equals(last) || target.equals(m.getKey())) {
                    found = m.getKey();
                }
            }
            if (found == null) {
                throw new IllegalArgumentException("unknown LoRA target '" + target + "'; this model's projections are "
                        + family.loraModules().keySet().stream().map(k -> k.substring(k.lastIndexOf('.') + 1)).toList());
            }
            if (!modules.contains(found)) {
                modules.add(found);
            }
        }
        // the family's order, whatever order the targets were given in
        return family.loraModules().keySet().stream().filter(modules::contains).toList();
    }

    /** The layer a parameter belongs to, or -1 for a global one (embeddings, final norm, head). */
    static int layerOf(FamilySpec family, String name) {
        String zero = family.layerPrefix(0);
        String stem = zero.substring(0, zero.length() - 2); // "model.layers." of "model.layers.0."
        int end = name.indexOf('.', stem.length());
        if (!name.startsWith(stem) || end < 0) {
            return -1;
        }
        try {
            return Integer.parseInt(name.substring(stem.length(), end));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private NDArray parameter(String name, float[] data, long[] shape) {
        NDArray array = torchOwned(manager.create(data, new Shape(shape)));
        if (!array.getDevice().equals(device)) {
            NDArray moved = array.toDevice(device, true);
            array.close();
            array = moved;
        }
        array.setName(name);
        return array;
    }

    /** The adapters' weights only (what a LoRA checkpoint and PEFT's adapter_model.safetensors hold). */
    public Map<String, HostTensor> adapterWeights() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        parameters.forEach((name, array) -> {
            if (isSavedWithAdapters(name)) {
                out.put(name, new HostTensor(array.getShape().getShape(), array.toFloatArray()));
            }
        });
        return out;
    }

    /** Overwrites the adapters with {@code weights} (every adapter must be present with its shape). */
    public void loadAdapterWeights(Map<String, HostTensor> weights) {
        parameters.forEach((name, array) -> {
            if (isSavedWithAdapters(name)) {
                HostTensor w = weights.get(name);
                if (w == null || !Arrays.equals(w.shape(), array.getShape().getShape())) {
                    throw new IllegalArgumentException("adapter weights have no '" + name + "' of shape "
                            + Arrays.toString(array.getShape().getShape()));
                }
                array.set(w.data());
            }
        });
    }

    /**
     * The base model of an adapted model: the same parameter arrays (no copy) without the adapters, e.g. RL's
     * frozen reference; nothing trains through it. Closing it leaves this model intact.
     */
    public Gpt withoutAdapters() {
        Map<String, NDArray> base = new LinkedHashMap<>();
        List<NDArray> copies = new java.util.ArrayList<>();
        parameterArrays.forEach((name, array) -> {
            if (lora != null && lora.saves(name)) {
                NDArray original = array.duplicate(); // a module that trains: the view keeps today's values
                original.setRequiresGradient(false);
                base.put(name, original);
                copies.add(original);
            } else if (!isAdapter(name)) {
                base.put(name, array);
            }
        });
        Gpt view = new Gpt(config, manager, base, false);
        view.viewCopies.addAll(copies);
        view.device = device;
        view.setPrecision(precision);
        return view;
    }

    /** The weights with every adapter folded into its projection: W + scale * B A (PEFT's merge_and_unload). */
    public Map<String, HostTensor> mergedWeights() {
        Map<String, HostTensor> all = weights();
        if (lora == null) {
            return all;
        }
        Map<String, HostTensor> merged = new LinkedHashMap<>();
        all.forEach((name, w) -> {
            if (isAdapter(name)) {
                return;
            }
            String module = name.endsWith(".weight") ? name.substring(0, name.length() - ".weight".length()) : null;
            HostTensor a = module == null ? null : all.get(module + ".lora_A.weight");
            HostTensor b = module == null ? null : all.get(module + ".lora_B.weight");
            merged.put(name, a == null || b == null ? w : fold(w, a, b, lora.scale()));
        });
        return merged;
    }

    /** w + scale * b @ a in double accumulation: w (out, in), a (r, in), b (out, r). */
    static HostTensor fold(HostTensor w, HostTensor a, HostTensor b, double scale) {
        int out = (int) w.shape()[0];
        int in = (int) w.shape()[1];
        int r = (int) a.shape()[0];
        float[] data = w.data().clone();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double sum = 0;
                for (int k = 0; k < r; k++) {
                    sum += (double) b.data()[o * r + k] * a.data()[k * in + i];
                }
                data[o * in + i] += (float) (scale * sum);
            }
        }
        return new HostTensor(w.shape(), data);
    }
}
