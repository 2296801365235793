package seed.reward.data;

/**
 * One ordered pair expanded from a ranking: response {@code better} was ranked above response {@code worse}
 * (indices into the group's responses). The loss for it is -log sigmoid(r_better - r_worse - margin).
 *
 * @param margin how far apart the annotator put the two (Llama 2's margin of the preference strength, see
 *               {@link PreferenceStrength}); 0 when the ranking gave no strengths
 */
public record PreferencePair(int better, int worse, double margin) {

    /** A pair without a strength (margin 0: InstructGPT's loss). */
    public PreferencePair(int better, int worse) {
        this(better, worse, 0.0);
    }

    public PreferencePair {
        if (!(margin >= 0) || Double.isInfinite(margin)) {
            throw new IllegalArgumentException("a preference margin must be finite and >= 0, got " + margin);
        }
    }
}
