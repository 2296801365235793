package seed.reward;

import seed.stages.rlhf.Evaluator;
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

    /** With no task-specific checks: the result's rule rates are NaN (see {@link #train(PpoSettings, Evaluator, PrintStream)}). */
    public static PpoResult train(PpoSettings settings, PrintStream console) throws IOException {
        return train(settings, Evaluator.generic(), console);
    }

    /** With the caller's independent checks and guard thresholds (the demo: {@code PoliteCorrectRule.evaluator()}). */
    public static PpoResult train(PpoSettings settings, Evaluator evaluator, PrintStream console) throws IOException {
        return train(settings, evaluator, seed.stages.data.Truncation.strict(), console);
    }

    /** As above, with prompts that do not fit cut or refused by {@code truncation} (the responses are generated). */
    public static PpoResult train(PpoSettings settings, Evaluator evaluator, seed.stages.data.Truncation truncation,
            PrintStream console) throws IOException {
        try (RewardModel reward = RewardModelFiles.load(settings.reward())) {
            return PpoTrainer.train(settings, reward, evaluator, truncation, console, 0);
        }
    }
}
