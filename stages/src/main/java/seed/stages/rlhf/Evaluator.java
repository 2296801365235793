package seed.stages.rlhf;

import java.util.List;
import java.util.function.BiPredicate;

/**
 * What the caller knows about good answers on its own data, handed to the RL trainer: independent checks (programs,
 * not the reward model, so a reward-hacked policy fools the reward but not them) and the length thresholds of the
 * guard rails, which depend on what normal answers look like. The trainer reports the rate of every check before and
 * after training and per iteration; it knows nothing of any particular task.
 *
 * @param checks          named pass/fail checks of (prompt, response text); a response without the end token fails them
 * @param collapseBelow   guard: reward climbing while the mean length falls below this fraction of the SFT length
 * @param explodeAbove    guard: reward climbing while the mean length exceeds this multiple of the SFT length
 * @param minEndRate      guard: reward climbing while fewer than this fraction of responses end properly
 * @param maxDegenerate   guard: more than this fraction of responses is degenerate text ({@link TextHealth})
 * @param rewards         checks also used as verifiable rewards beside the reward model ({@link VerifiableRewards})
 */
public record Evaluator(List<Check> checks, double collapseBelow, double explodeAbove, double minEndRate,
        double maxDegenerate, VerifiableRewards rewards) {

    /** One independent check; {@code name} becomes the metric {@code <name>_rate}. */
    public record Check(String name, BiPredicate<String, String> passes) {
        public Check {
            if (name == null || !name.matches("[a-z][a-z0-9_]*")) {
                throw new IllegalArgumentException("check names are lower-case identifiers (metric keys), got '" + name + "'");
            }
        }
    }

    public Evaluator {
        checks = List.copyOf(checks);
        rewards = rewards == null ? VerifiableRewards.none() : rewards;
        if (checks.stream().map(Check::name).distinct().count() != checks.size()) {
            throw new IllegalArgumentException("check names must be distinct: " + checks.stream().map(Check::name).toList());
        }
    }

    /** Checks and guard thresholds only: the reward model alone is the reward. */
    public Evaluator(List<Check> checks, double collapseBelow, double explodeAbove, double minEndRate, double maxDegenerate) {
        this(checks, collapseBelow, explodeAbove, minEndRate, maxDegenerate, VerifiableRewards.none());
    }

    /** No task-specific checks; generic guard thresholds (length halves or triples while reward climbs). */
    public static Evaluator generic() {
        return new Evaluator(List.of(), 0.5, 3.0, 0.5, 0.5);
    }

    /** The same thresholds with these checks. */
    public Evaluator withChecks(List<Check> newChecks) {
        return new Evaluator(newChecks, collapseBelow, explodeAbove, minEndRate, maxDegenerate, rewards);
    }

    /** The same checks and thresholds with these verifiable rewards added to the reward model's score. */
    public Evaluator withRewards(VerifiableRewards newRewards) {
        return new Evaluator(checks, collapseBelow, explodeAbove, minEndRate, maxDegenerate, newRewards);
    }

    /** The first check's name, or null: what {@link PpoResult#ruleRateBefore()} reports. */
    public String primaryCheck() {
        return checks.isEmpty() ? null : checks.get(0).name();
    }
}
