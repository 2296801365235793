package seed.stages.data;

/**
 * How examples that do not fit are cut, with TRL's meanings: a prompt loses its beginning (the end, nearest the
 * response, is kept), a response loses its end, and {@code drop} skips the example. Lengths count tokens as the
 * {@link ChatTemplate} renders them, framing tokens included.
 *
 * <ul>
 *   <li>{@code maxLength}: prompt + response + end token at most this long (0 = the model's context).</li>
 *   <li>{@code maxPromptLength}: a hard cap on the prompt (0 = none: the prompt may use what the response leaves,
 *       but when something must be cut the prompt is cut first, down to half of {@code maxLength}, before the
 *       response is cut).</li>
 *   <li>{@code prompt}: LEFT cuts the prompt's beginning; ERROR refuses the example with its line.</li>
 *   <li>{@code response}: RIGHT cuts the response's end (it then has no end token: it did not end); DROP skips the
 *       example (a whole ranking for reward data); ERROR refuses it with its line.</li>
 * </ul>
 */
public record Truncation(int maxLength, int maxPromptLength, Prompt prompt, Response response) {

    /** What to do with a prompt that is too long. */
    public enum Prompt { LEFT, ERROR }

    /** What to do with a response that does not fit after the prompt. */
    public enum Response { RIGHT, DROP, ERROR }

    public Truncation {
        if (maxLength < 0 || maxPromptLength < 0) {
            throw new IllegalArgumentException("--max-length and --max-prompt-length must be >= 0 (0 = default), got "
                    + maxLength + " and " + maxPromptLength);
        }
        if (maxLength > 0 && maxPromptLength >= maxLength) {
            throw new IllegalArgumentException("--max-prompt-length (" + maxPromptLength + ") must be below --max-length ("
                    + maxLength + ") to leave room for a response");
        }
    }

    /** Nothing is cut: anything that does not fit the context is an error naming its line. */
    public static Truncation strict() {
        return new Truncation(0, 0, Prompt.ERROR, Response.ERROR);
    }

    /** Parses the command-line values; the errors name the flag and the accepted values. */
    public static Truncation parse(int maxLength, int maxPromptLength, String prompt, String response) {
        Prompt p = switch (prompt) {
            case "left" -> Prompt.LEFT;
            case "error" -> Prompt.ERROR;
            default -> throw new IllegalArgumentException("--truncate-prompt must be 'left' or 'error', got '" + prompt + "'");
        };
        Response r = switch (response) {
            case "right" -> Response.RIGHT;
            case "drop" -> Response.DROP;
            case "error" -> Response.ERROR;
            default -> throw new IllegalArgumentException("--truncate-response must be 'right', 'drop' or 'error', got '"
                    + response + "'");
        };
        return new Truncation(maxLength, maxPromptLength, p, r);
    }

    /** {@code maxLength} made concrete for a model of {@code context} tokens; longer than the context is an error. */
    public int maxLengthFor(int context) {
        if (maxLength > context) {
            throw new IllegalArgumentException("--max-length " + maxLength + " exceeds the model's context of " + context
                    + " tokens");
        }
        return maxLength == 0 ? context : maxLength;
    }
}
