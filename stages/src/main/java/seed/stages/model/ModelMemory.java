package seed.stages.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How much memory training a model of a given shape needs, estimated from its configuration alone, so that a model
 * that cannot fit the machine is refused before gigabytes of weights are read (a 7B model's fp32 weights alone are
 * 28 GiB; this machine has 24). The estimate is for training (the stages all train), with bytes counted as:
 *
 * <ul>
 *   <li><b>weights</b>: 4 bytes x every base parameter (fp32 master weights); in bf16 also 2 bytes x every matrix
 *       parameter, the bf16 copies the program casts each projection's weight to and autograd keeps for backward;
 *   <li><b>gradients</b>: 4 bytes x every trainable parameter (all of them; with LoRA the adapters only);
 *   <li><b>AdamW moments</b>: 8 bytes x every trainable parameter (first and second moment, fp32);
 *   <li><b>activations</b>: what autograd keeps for backward, per token of {@code batch x context}: in each layer
 *       {@code 4 d + 5 q + 4 f} values (q the query width heads x head_dim, f the MLP width; this counts the norms'
 *       inputs and outputs, q, the repeated k and v and attention's output, and the MLP's gate, up, product and
 *       activation) at 4 bytes in fp32, 2 in bf16 plus the fp32 residual stream (2 d values at 4 bytes); in bf16
 *       training the attention is written out, adding {@code heads x context} bf16 scores per token and layer;
 *       plus the head's logits, their log-softmax and its gradient (3 x vocab fp32 values per token). With LoRA
 *       the same activations (the gradient still flows through every layer) plus the adapters' rank-wide
 *       intermediates.
 * </ul>
 *
 * An estimate, not a measurement: libtorch's workspace, the JVM and transient copies come on top, so
 * {@link #check} also leaves {@link #HEADROOM} of the available memory free. Loading additionally holds the weights
 * once in the Java heap (4 bytes per parameter) while they are copied to libtorch, which {@link #check} compares
 * with the JVM's maximum heap.
 *
 * @param weights     bytes of the weights (see above)
 * @param gradients   bytes of the gradients
 * @param moments     bytes of AdamW's two moments
 * @param activations bytes of the activations kept for backward at {@code batch x context}
 * @param loadHeap    bytes of Java heap the weights take while being loaded (fp32 copy)
 * @param advice      what would make it smaller, for the refusal (options not already in use)
 */
public record ModelMemory(long weights, long gradients, long moments, long activations, long loadHeap,
        String advice) {

    /** The share of available memory the estimate may use; the rest is for what it does not count. */
    public static final double HEADROOM = 0.9;

    private static final double GIB = 1024.0 * 1024 * 1024;

    /**
     * The memory of training {@code config} on batches of {@code batch} sequences of {@code context} tokens in
     * {@code precision}, all parameters trainable or, with {@code lora} (null = none), only the adapters.
     */
    public static ModelMemory estimate(GptConfig config, int batch, int context, Precision precision,
            LoraSettings lora) {
        long parameters = 0;
        long matrices = 0;
        for (long[] shape : config.family().spec().parameterShapes(config).values()) {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            parameters += n;
            if (shape.length == 2) {
                matrices += n;
            }
        }
        boolean bf16 = precision == Precision.BF16;
        long weights = 4 * parameters + (bf16 ? 2 * matrices : 0);
        long trainable = lora == null ? parameters : adapterParameters(config, lora);
        long tokens = (long) batch * context;
        long d = config.dModel();
        long q = (long) config.heads() * config.headDim();
        long f = config.ffn();
        double perTokenLayer = bf16 ? 2.0 * (4 * d + 5 * q + 4 * f) + 4.0 * 2 * d + 2.0 * config.heads() * context
                : 4.0 * (4 * d + 5 * q + 4 * f);
        if (lora != null) {
            perTokenLayer += 4.0 * lora.rank() * lora.targets().size();
        }
        double activations = tokens * (perTokenLayer * config.layers() + 4.0 * 3 * config.vocabSize());
        StringBuilder advice = new StringBuilder("Use a smaller --context");
        if (batch > 1) {
            advice.append(" or --batch");
        }
        if (lora == null) {
            advice.append(", LoRA (--lora-rank)");
        }
        if (!bf16) {
            advice.append(", bf16 (--precision bf16)");
        }
        advice.append(", or a machine with more memory.");
        return new ModelMemory(weights, 4 * trainable, 8 * trainable, (long) Math.min(activations, Long.MAX_VALUE),
                4 * parameters, advice.toString());
    }

    /** Parameters of LoRA adapters on every layer's targeted projections: rank x (in + out) each. */
    static long adapterParameters(GptConfig config, LoraSettings lora) {
        FamilySpec family = config.family().spec();
        java.util.List<String> modules = Gpt.loraModules(family, lora.targets(), config);
        java.util.Map<String, long[]> shapes = family.parameterShapes(config);
        long total = 0;
        for (int layer = 0; layer < config.layers(); layer++) {
            for (String module : modules) {
                long[] w = shapes.get(family.layerPrefix(layer) + module + ".weight");
                total += (long) lora.rank() * (w[0] + w[1]);
            }
        }
        return total;
    }

    /** Everything training needs: weights, gradients, moments and activations. */
    public long total() {
        return weights + gradients + moments + activations;
    }

    /** The parts in GiB, e.g. {@code weights 0.50 GiB + gradients 0.50 GiB + ... = 2.10 GiB}. */
    public String describe() {
        return String.format(Locale.ROOT, "weights %s + gradients %s + AdamW moments %s + activations %s = %s",
                gib(weights), gib(gradients), gib(moments), gib(activations), gib(total()));
    }

    /**
     * Refuses (IllegalArgumentException naming every part) when the estimate exceeds {@link #HEADROOM} of
     * {@code availableBytes}, or the fp32 weights exceed the JVM's maximum heap {@code maxHeapBytes} that loading
     * passes them through. {@code what} names the model in the message.
     */
    public void check(String what, long availableBytes, long maxHeapBytes) {
        if (total() > HEADROOM * availableBytes) {
            throw new IllegalArgumentException(what + " does not fit this machine's memory: training it needs about "
                    + describe() + ", but " + gib(availableBytes) + " is available (" + Math.round(HEADROOM * 100)
                    + "% of it may be used). " + advice);
        }
        if (loadHeap > maxHeapBytes) {
            throw new IllegalArgumentException(what + ": its fp32 weights (" + gib(loadHeap) + ") pass through the "
                    + "Java heap while loading, whose maximum is " + gib(maxHeapBytes) + "; raise it (SEED_JAVA_OPTS="
                    + "-Xmx" + (long) Math.ceil(loadHeap * 1.5 / GIB) + "g). Estimate: " + describe());
        }
    }

    /** {@link #check(String, long, long)} against this machine: {@link #availableBytes()} and the JVM's heap. */
    public void check(String what) {
        check(what, availableBytes(), Runtime.getRuntime().maxMemory());
    }

    /**
     * Memory this process may still take: the kernel's {@code MemAvailable} (free memory plus what the page cache
     * would give back); where /proc is missing, the JVM's maximum heap.
     */
    public static long availableBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException | UnsupportedOperationException e) {
            // fall through
        }
        return Runtime.getRuntime().maxMemory();
    }

    /** Bytes as GiB with two decimals, e.g. {@code 1.25 GiB}. */
    public static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / GIB);
    }
}
