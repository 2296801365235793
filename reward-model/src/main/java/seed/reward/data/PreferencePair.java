package seed.reward.data;

/**
 * One ordered pair expanded from a ranking: response {@code better} was ranked above response {@code worse}
 * (indices into the group's responses). The loss for it is -log sigmoid(r_better - r_worse).
 */
public record PreferencePair(int better, int worse) {
}
