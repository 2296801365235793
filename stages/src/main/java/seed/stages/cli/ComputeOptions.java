package seed.stages.cli;

import picocli.CommandLine.Option;
import seed.stages.model.Devices;
import seed.stages.model.Gpt;
import seed.stages.model.Precision;

/**
 * {@code --precision} and {@code --device} for commands whose stage loads its own models (generate, candidates,
 * reward, rlhf): a picocli mixin that sets the process defaults every model starts with ({@link Gpt#setProcessDefaults})
 * and fails early, before any work, when the device does not exist.
 */
public final class ComputeOptions {

    @Option(names = "--precision", description = "fp32 or bf16 (bf16 matmuls, fp32 weights; default: ${DEFAULT-VALUE}).")
    String precision = "fp32";

    @Option(names = "--device", description = "auto (GPU 0 if libtorch sees one, else the CPU), cpu, gpu or gpu:N "
            + "(default: ${DEFAULT-VALUE}).")
    String device = "auto";

    /** Validates both flags and makes them the defaults of every model this process creates from now on. */
    public void apply() {
        Gpt.setProcessDefaults(Precision.parse(precision), Devices.parse(device));
    }
}
