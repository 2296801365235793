package seed.stages.rlhf;

/**
 * Sets the coefficient of the per-token KL penalty against the frozen reference. A closed set: a fixed
 * coefficient, or the adaptive controller of Ziegler et al. 2019 that steers the measured KL toward a target
 * (the probe in design.md showed that a fixed small coefficient lets the policy reward-hack).
 */
public sealed interface KlController permits KlController.Fixed, KlController.Adaptive {

    double coef();

    /** Feeds the KL measured over {@code steps} episodes; returns the controller to use next (immutable). */
    KlController update(double measuredKl, int steps);

    /** A constant coefficient. */
    record Fixed(double coef) implements KlController {
        @Override
        public KlController update(double measuredKl, int steps) {
            return this;
        }
    }

    /**
     * Ziegler et al. 2019: error = clip(KL / target - 1, -0.2, 0.2); coef *= 1 + error * steps / horizon.
     * The coefficient rises when the KL overshoots the target and falls when it undershoots.
     */
    record Adaptive(double coef, double target, double horizon) implements KlController {
        public Adaptive {
            if (!(target > 0) || !(horizon > 0) || !(coef > 0)) {
                throw new IllegalArgumentException("adaptive KL controller needs coef, target and horizon > 0");
            }
        }

        @Override
        public KlController update(double measuredKl, int steps) {
            double error = Math.max(-0.2, Math.min(0.2, measuredKl / target - 1.0));
            double next = coef * (1.0 + error * steps / horizon);
            return new Adaptive(next, target, horizon);
        }
    }
}
