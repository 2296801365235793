package seed.stages.rlhf;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import seed.stages.checkpoint.HostTensor;

import java.util.LinkedHashMap;
import java.util.Map;

/** PPO's critic: a linear read-out of the policy's final hidden state, one value per position. Starts at zero. */
final class ValueHead implements AutoCloseable {

    static final String FILE = "value_head.safetensors";

    private final NDManager manager;
    private final NDArray weight;
    private final NDArray bias;

    /** A zero head on {@code device}, the policy's, so values and the policy's hidden states share one device. */
    ValueHead(int dModel, ai.djl.Device device) {
        manager = NDManager.newBaseManager(device);
        weight = manager.zeros(new Shape(1, dModel));
        bias = manager.zeros(new Shape(1));
        weight.setRequiresGradient(true);
        bias.setRequiresGradient(true);
    }

    /** Values (B, T) from hidden states (B, T, D); hidden is the first operand so results land in its manager. */
    NDArray values(NDArray hidden) {
        return hidden.mul(weight).sum(new int[] {-1}).add(bias);
    }

    Map<String, NDArray> parameters() {
        Map<String, NDArray> m = new LinkedHashMap<>();
        m.put("value_head.weight", weight);
        m.put("value_head.bias", bias);
        return m;
    }

    Map<String, HostTensor> weights() {
        Map<String, HostTensor> vh = new LinkedHashMap<>();
        vh.put("value_head.weight", new HostTensor(weight.getShape().getShape(), weight.toFloatArray()));
        vh.put("value_head.bias", new HostTensor(bias.getShape().getShape(), bias.toFloatArray()));
        return vh;
    }

    void load(Map<String, HostTensor> saved) {
        weight.set(saved.get("value_head.weight").data());
        bias.set(saved.get("value_head.bias").data());
    }

    @Override
    public void close() {
        manager.close();
    }
}
