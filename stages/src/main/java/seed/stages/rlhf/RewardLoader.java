package seed.stages.rlhf;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Opens a reward function from a folder. The command line injects the reward model's loader (from module
 * {@code reward-model}) so that {@code stages} itself never depends on the reward model's code.
 */
@FunctionalInterface
public interface RewardLoader {
    RewardFunction load(Path folder) throws IOException;
}
