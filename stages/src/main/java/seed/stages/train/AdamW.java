package seed.stages.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.LinkedHashMap;
import java.util.Map;
import seed.stages.checkpoint.HostTensor;

/**
 * AdamW (decoupled weight decay) with global-norm gradient clipping, on libtorch's fused per-parameter update
 * (one native call per parameter instead of ~10 element-wise ops). Keeps its own first and second moments so they
 * can be saved and restored exactly: DJL's Model.save does not save optimizer state.
 *
 * <p>Weight decay applies to matrices (embeddings and linear weights) only, not to biases or LayerNorm gains,
 * as in GPT-2 / nanoGPT.
 */
public final class AdamW implements AutoCloseable {

    private final float beta1;
    private final float beta2;
    private final float epsilon;
    private final float weightDecay;
    private final NDManager manager = NDManager.newBaseManager();
    private final Map<String, NDArray> means = new LinkedHashMap<>();
    private final Map<String, NDArray> variances = new LinkedHashMap<>();
    private long steps;

    public AdamW(float beta1, float beta2, float epsilon, float weightDecay) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.weightDecay = weightDecay;
    }

    /** GPT-style defaults: betas (0.9, 0.95), eps 1e-8. */
    public static AdamW withWeightDecay(float weightDecay) {
        return new AdamW(0.9f, 0.95f, 1e-8f, weightDecay);
    }

    /**
     * Applies one update to every parameter from its gradient, after scaling all gradients so their global L2 norm
     * is at most {@code clipNorm} (0 = no clipping). Zeroes the gradients. Returns the norm before clipping, or NaN
     * when clipping is off (the norm then costs a device sync per parameter for nothing).
     */
    public float step(Map<String, NDArray> parameters, float learningRate, float clipNorm) {
        float norm = clipNorm > 0 ? globalNorm(parameters) : Float.NaN;
        float rescale = clipNorm > 0 && norm > clipNorm ? clipNorm / (norm + 1e-6f) : 1f;
        steps++;
        double c1 = 1.0 - Math.pow(beta1, steps);
        double c2 = 1.0 - Math.pow(beta2, steps);
        float correctedRate = (float) (learningRate * Math.sqrt(c2) / c1);
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            NDArray weight = e.getValue();
            NDArray mean = means.computeIfAbsent(e.getKey(), k -> 
                    manager.zeros(weight.getShape(), weight.getDataType(), weight.getDevice()));
            NDArray variance = variances.computeIfAbsent(e.getKey(), k -> 
                    manager.zeros(weight.getShape(), weight.getDataType(), weight.getDevice()));
            float decay = weight.getShape().dimension() >= 2 ? weightDecay : 0f;
            NDArray grad = weight.getGradient();
            weight.getNDArrayInternal().adamUpdate(new NDList(weight, grad, mean, variance), new NDList(weight),
                    learningRate, correctedRate, decay, rescale, -1f, beta1, beta2, epsilon, false, true);
            grad.close();
        }
        return norm;
    }

    /** L2 norm of all gradients together. */
    private static float globalNorm(Map<String, NDArray> parameters) {
        double sumSquares = 0;
        for (NDArray p : parameters.values()) {
            // results belong to the manager of their first input (the model's): close them, or they pile up there
            try (NDArray g = p.getGradient(); NDArray squares = g.square(); NDArray sum = squares.sum()) {
                sumSquares += sum.getFloat();
            }
        }
        return (float) Math.sqrt(sumSquares);
    }

    public long steps() {
        return steps;
    }

    /** Moments as host tensors ("m." and "v." prefixed) plus the step count, for checkpoints. */
    public Map<String, HostTensor> state() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        means.forEach((k, v) -> out.put("m." + k, new HostTensor(v.getShape().getShape(), v.toFloatArray())));
        variances.forEach((k, v) -> out.put("v." + k, new HostTensor(v.getShape().getShape(), v.toFloatArray())));
        out.put("steps", HostTensor.scalar(steps));
        return out;
    }

    /** Restores what {@link #state()} produced. */
    public void restore(Map<String, HostTensor> state) {
        means.values().forEach(NDArray::close);
        variances.values().forEach(NDArray::close);
        means.clear();
        variances.clear();
        state.forEach((key, tensor) -> {
            if (key.equals("steps")) {
                steps = (long) tensor.data()[0];
            } else {
                NDArray array = seed.stages.model.Gpt.torchOwned(
                        manager.create(tensor.data(), new ai.djl.ndarray.types.Shape(tensor.shape())));
                (key.startsWith("m.") ? means : variances).put(key.substring(2), array);
            }
        });
    }

    @Override
    public void close() {
        manager.close();
    }
}
