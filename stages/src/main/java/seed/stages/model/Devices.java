package seed.stages.model;

import ai.djl.Device;
import ai.djl.engine.Engine;

/**
 * Parses the {@code --device} option ({@code auto}, {@code cpu}, {@code gpu}, {@code gpu:N}) into a DJL device, and
 * fails with a message that says what to do when a GPU is asked for and libtorch sees none (the CPU build of
 * libtorch, no driver, or an index past the last GPU). {@code auto} is the best available: GPU 0 if any, else the CPU.
 */
public final class Devices {

    private Devices() {
    }

    public static Device parse(String text) {
        String t = text == null ? "auto" : text.trim().toLowerCase(java.util.Locale.ROOT);
        int gpus = gpuCount();
        if (t.equals("auto")) {
            return gpus > 0 ? Device.gpu(0) : Device.cpu();
        }
        if (t.equals("cpu")) {
            return Device.cpu();
        }
        if (t.equals("gpu") || t.equals("cuda") || t.matches("(gpu|cuda):\\d+")) {
            int index = t.contains(":") ? Integer.parseInt(t.substring(t.indexOf(':') + 1)) : 0;
            if (gpus == 0) {
                throw new IllegalArgumentException("--device " + text + ": no GPU is visible to libtorch on this machine "
                        + "(the loaded libtorch is a CPU build or no CUDA driver/GPU is present). Use --device cpu, or "
                        + "run on a GPU worker with CUDA libtorch (see the README, 'GPU workers').");
            }
            if (index >= gpus) {
                throw new IllegalArgumentException("--device " + text + ": only " + gpus + " GPU(s) visible (gpu:0"
                        + (gpus > 1 ? " to gpu:" + (gpus - 1) : "") + ")");
            }
            return Device.gpu(index);
        }
        throw new IllegalArgumentException("unknown device '" + text + "': use auto, cpu, gpu or gpu:N");
    }

    /** GPUs libtorch can use (0 with the CPU build of libtorch, which is what Maven Central serves here). */
    public static int gpuCount() {
        return Engine.getEngine("PyTorch").getGpuCount();
    }
}
