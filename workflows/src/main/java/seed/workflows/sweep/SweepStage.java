package seed.workflows.sweep;

import java.util.Arrays;
import seed.stages.train.TrainSettings;
import seed.workflows.tasks.Sft;

/**
 * The stages {@code seed.sweep} can tune, with what the sweep must know about each flow: its learning-rate warm-up
 * (the first rung never ends inside it: rankings there are noise), the metric compared by default and which way is
 * better, the output naming the trained artifact, and whether a trial can stop at a rung and continue exactly
 * ({@code stop_at}/{@code resume_from}). A stage that cannot resume is swept as a plain grid or random search: one rung
 * at the full budget, no halving.
 *
 * @param warmup    linear warm-up steps of the stage's schedule (its task's setting; 0 where no rung ends early)
 * @param metric    the flow output compared by default
 * @param artifact  the flow output holding the trained checkpoint or model folder
 * @param resumable true when the flow has {@code stop_at}/{@code resume_from} with exact resume
 */
public enum SweepStage {
    pretrain(TrainSettings.defaults().warmupSteps(), "val_loss", "checkpoint", true),
    sft(Sft.WARMUP_STEPS, "val_loss", "checkpoint", true),
    /** The reward model's trainer has no exact resume: swept without halving. */
    reward(0, "val_accuracy", "model", false),
    /** DPO's trainer has no exact resume: swept without halving. */
    dpo(0, "val_rewards_accuracy", "policy", false);

    private final int warmup;
    private final String metric;
    private final String artifact;
    private final boolean resumable;

    SweepStage(int warmup, String metric, String artifact, boolean resumable) {
        this.warmup = warmup;
        this.metric = metric;
        this.artifact = artifact;
        this.resumable = resumable;
    }

    public int warmup() {
        return warmup;
    }

    public String metric() {
        return metric;
    }

    public String artifact() {
        return artifact;
    }

    public boolean resumable() {
        return resumable;
    }

    /** The stage named {@code name}; an unknown one is an error naming the tunable stages. */
    public static SweepStage of(String name) {
        return Arrays.stream(values()).filter(s -> s.name().equals(name)).findFirst().orElseThrow(
                () -> new IllegalArgumentException("stage '" + name + "' cannot be swept; tunable stages are "
                        + Arrays.toString(values())));
    }

    /**
     * The first rung's steps the sweep uses: {@code minSteps} when given (a stage without exact resume refuses any
     * value below the budget), else 0 for a resumable stage (the plan then starts at budget / reduction^(rungs-1), but
     * never inside the warm-up) and the budget for the others (one rung: a plain grid or random search).
     */
    public int firstRung(int minSteps, int budget) {
        if (minSteps < 0) {
            throw new IllegalArgumentException("input 'min_steps' must be >= 0 (0 = the default rungs), got " + minSteps);
        }
        if (!resumable && minSteps > 0 && minSteps < budget) {
            throw new IllegalArgumentException("stage '" + name() + "' cannot stop at a rung and resume exactly, so it "
                    + "is swept without successive halving: leave min_steps at 0 or set it to the budget (" + budget
                    + "), got " + minSteps);
        }
        return resumable ? minSteps : budget;
    }

    /**
     * Which way the metric is better: {@code goal} minimize or maximize as given; auto knows losses (lower is better)
     * and accuracies (higher is better) and refuses any other metric, so a direction is never guessed.
     */
    public static boolean maximize(String metric, Goal goal) {
        return switch (goal) {
            case minimize -> false;
            case maximize -> true;
            case auto -> {
                if (metric.endsWith("loss") || metric.equals("kl")) {
                    yield false;
                }
                if (metric.endsWith("accuracy")) {
                    yield true;
                }
                throw new IllegalArgumentException("metric '" + metric + "': say whether to minimize or maximize it "
                        + "(goal), only losses and accuracies have a known direction");
            }
        };
    }

    /** Which way a metric is better: auto reads it from the metric's name ({@link #maximize}). */
    public enum Goal {
        auto, minimize, maximize
    }
}
