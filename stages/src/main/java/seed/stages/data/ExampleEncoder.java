package seed.stages.data;

import seed.stages.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Encodes prompts and responses with the {@link ChatTemplate} framing and cuts what does not fit by a
 * {@link Truncation}, counting what it cut so every command can report it. One encoder per data set.
 *
 * <p>The prompt budget: a hard cap with {@code maxPromptLength}; without one, what the longest response leaves, but
 * at least half of {@code maxLength} (so an example that fits is never cut, and when one does not, the prompt gives
 * way first but never takes the whole context). The responses of one prompt (a ranking, a chosen/rejected pair) are
 * cut by the same rule against the same, once-cut prompt.
 */
public final class ExampleEncoder {

    /** An encoded example: token ids, how many of them (from the start) are prompt, and whether the end token is there. */
    public record Encoded(int[] ids, int promptLength, boolean ended) {
    }

    private final Tokenizer tokenizer;
    private final Truncation truncation;
    private final int maxLength;
    private int examples;
    private int promptsCut;
    private int responsesCut;
    private int dropped;

    public ExampleEncoder(Tokenizer tokenizer, Truncation truncation, int context) {
        this.tokenizer = tokenizer;
        this.truncation = truncation;
        this.maxLength = truncation.maxLengthFor(context);
        if (maxLength < 4) {
            throw new IllegalArgumentException("--max-length " + maxLength + " leaves no room for a prompt and a response");
        }
    }

    public int maxLength() {
        return maxLength;
    }

    /**
     * {@code <|prompt|> prompt <|response|>} for generation, leaving {@code maxNewTokens} of {@code maxLength} for
     * the response. {@code where} (file:line) names the example in errors.
     */
    public int[] prompt(String prompt, int maxNewTokens, String where) {
        examples++;
        int budget = maxLength - maxNewTokens;
        if (truncation.maxPromptLength() > 0) {
            budget = Math.min(budget, truncation.maxPromptLength());
        }
        if (budget < 3) {
            throw new IllegalArgumentException("--max-length " + maxLength + " with " + maxNewTokens
                    + " new tokens leaves no room for a prompt");
        }
        int[] p = cutPrompt(tokenizer.encode(prompt), budget, where);
        return frame(p, null, false);
    }

    /** One prompt and its response; null when the example is dropped ({@code --truncate-response drop}). */
    public Encoded example(String prompt, String response, String where) {
        List<Encoded> one = group(prompt, List.of(response), where);
        return one == null ? null : one.get(0);
    }

    /** One prompt with several responses cut by the same rule; null when any response forces a drop. */
    public List<Encoded> group(String prompt, List<String> responses, String where) {
        examples++;
        List<int[]> rs = new ArrayList<>();
        int need = 0;
        for (String r : responses) {
            int[] ids = tokenizer.encode(r);
            rs.add(ids);
            need = Math.max(need, ids.length + 1);
        }
        int budget = truncation.maxPromptLength() > 0 ? truncation.maxPromptLength()
                : Math.max(maxLength / 2, maxLength - need);
        int[] p = cutPrompt(tokenizer.encode(prompt), budget, where);
        int room = maxLength - p.length - 2;
        boolean cut = false;
        List<Encoded> out = new ArrayList<>();
        for (int[] r : rs) {
            if (r.length + 1 <= room) {
                out.add(new Encoded(frame(p, r, true), p.length + 2, true));
                continue;
            }
            switch (truncation.response()) {
                case ERROR -> throw new IllegalArgumentException(where + ": the response has " + r.length
                        + " tokens but only " + (room - 1) + " fit after the prompt (--max-length " + maxLength
                        + "); pass --truncate-response right to cut its end or drop to skip the example");
                case DROP -> {
                    dropped++;
                    return null;
                }
                case RIGHT -> {
                    out.add(new Encoded(frame(p, Arrays.copyOf(r, room), false), p.length + 2, false));
                    cut = true;
                }
            }
        }
        responsesCut += cut ? 1 : 0;
        return out;
    }

    private int[] cutPrompt(int[] p, int budget, String where) {
        if (p.length + 2 <= budget) {
            return p;
        }
        if (truncation.prompt() == Truncation.Prompt.ERROR) {
            throw new IllegalArgumentException(where + ": the prompt has " + (p.length + 2) + " tokens (with its framing) "
                    + "but only " + budget + " fit (--max-length " + maxLength
                    + (truncation.maxPromptLength() > 0 ? ", --max-prompt-length " + truncation.maxPromptLength() : "")
                    + "); pass --truncate-prompt left to keep its end");
        }
        promptsCut++;
        return Arrays.copyOfRange(p, p.length - (budget - 2), p.length);
    }

    private int[] frame(int[] p, int[] r, boolean end) {
        int n = p.length + 2 + (r == null ? 0 : r.length) + (end ? 1 : 0);
        int[] ids = new int[n];
        ids[0] = tokenizer.promptId();
        System.arraycopy(p, 0, ids, 1, p.length);
        ids[p.length + 1] = tokenizer.responseId();
        if (r != null) {
            System.arraycopy(r, 0, ids, p.length + 2, r.length);
        }
        if (end) {
            ids[n - 1] = tokenizer.endOfTextId();
        }
        return ids;
    }

    public int examples() {
        return examples;
    }

    public int promptsCut() {
        return promptsCut;
    }

    public int responsesCut() {
        return responsesCut;
    }

    public int dropped() {
        return dropped;
    }

    /** One line for the console: how many of how many examples were cut or dropped, and the limits. */
    public String report() {
        return String.format("%d example(s): %d prompt(s) cut at the left, %d with responses cut at the right, %d dropped "
                + "(max length %d%s)", examples, promptsCut, responsesCut, dropped, maxLength,
                truncation.maxPromptLength() > 0 ? ", max prompt length " + truncation.maxPromptLength() : "");
    }

    /** Fails with {@code what} and the report when every example was dropped. */
    public void requireSome(int kept, String what) {
        if (kept == 0) {
            throw new IllegalArgumentException("nothing usable is left in " + what + " after truncation: " + report());
        }
    }
}
