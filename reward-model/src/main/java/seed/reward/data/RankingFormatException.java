package seed.reward.data;

/** A rankings file line that cannot be used; the message names the file, line, field and reason. */
public final class RankingFormatException extends RuntimeException {
    public RankingFormatException(String message) {
        super(message);
    }
}
