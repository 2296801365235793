package seed.stages.generate;

/**
 * One generated continuation.
 *
 * @param promptTokens the prompt as the model saw it
 * @param tokens       the new tokens (the end token, when produced, is included; a matched stop string is not cut
 *                     from the tokens, only from the text)
 * @param text         the new text, without special tokens and without the stop string
 * @param stopReason   why generation ended
 */
public record Generation(int[] promptTokens, int[] tokens, String text, StopReason stopReason) {

    /** Why a sequence stopped. */
    public enum StopReason { END_OF_TEXT, STOP_SEQUENCE, MAX_TOKENS }

    public boolean endedWithEndToken() {
        return stopReason == StopReason.END_OF_TEXT;
    }
}
