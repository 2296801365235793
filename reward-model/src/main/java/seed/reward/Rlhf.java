package seed.reward;

import seed.stages.rlhf.PpoResult;
import seed.stages.rlhf.PpoSettings;
import seed.stages.rlhf.PpoTrainer;

import java.io.IOException;
import java.io.PrintStream;

/**
 * The RL stage with its reward model loaded from {@code settings.reward()}: one call for the pipeline, which knows
 * both modules ({@code stages} itself only sees the {@link seed.stages.rlhf.RewardFunction} interface).
 */
public final class Rlhf {

    private Rlhf() {
    }

    public static PpoResult train(PpoSettings settings, PrintStream console) throws IOException {
        try (RewardModel reward = RewardModelFiles.load(settings.reward())) {
            return PpoTrainer.train(settings, reward, console);
        }
    }
}
