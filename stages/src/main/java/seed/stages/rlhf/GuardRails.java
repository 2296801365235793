package seed.stages.rlhf;

import java.util.Map;

/**
 * The RL stage's alarms, checked after every iteration: KL to the reference above the bound; reward climbing while
 * the response length collapses or explodes (thresholds from the caller's {@link Evaluator}, since what a normal
 * length is depends on the task); most responses degenerate. Returns a message for the first alarm, or null.
 */
final class GuardRails {

    private final PpoSettings.Guards guards;
    private final Evaluator evaluator;

    GuardRails(PpoSettings.Guards guards, Evaluator evaluator) {
        this.guards = guards;
        this.evaluator = evaluator;
    }

    /**
     * @param rec         the iteration's metrics (reward, kl, response_length, end_rate, degenerate_rate)
     * @param firstReward the first iteration's mean reward (part of the checkpoint, so a resumed run compares alike)
     * @param baseLength  the SFT policy's mean held-out response length
     */
    String check(Map<String, Object> rec, double firstReward, double baseLength, int iteration) {
        double kl = PpoTrainer.num(rec, "kl");
        double reward = PpoTrainer.num(rec, "reward");
        double length = PpoTrainer.num(rec, "response_length");
        if (kl > guards.klBound()) {
            return String.format("iteration %d: KL to the reference %.3f exceeds the bound %.3f", iteration, kl, guards.klBound());
        }
        boolean collapsed = length < evaluator.collapseBelow() * baseLength;
        boolean exploded = PpoTrainer.num(rec, "end_rate") < evaluator.minEndRate() || length > evaluator.explodeAbove() * baseLength;
        if (reward > firstReward + 0.5 && baseLength > 0 && (collapsed || exploded)) {
            return String.format("iteration %d: reward climbs (%.3f -> %.3f) while response length went %.1f -> %.1f tokens",
                    iteration, firstReward, reward, baseLength, length);
        }
        double degenerate = PpoTrainer.num(rec, "degenerate_rate");
        if (degenerate > evaluator.maxDegenerate()) {
            return String.format("iteration %d: %.0f%% of responses repeat themselves (degenerate text)", iteration,
                    100 * degenerate);
        }
        return null;
    }
}
