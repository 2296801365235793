package seed.stages.data;

import seed.stages.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Encodes prompts and responses with a tokenizer's {@link ChatFormat} (Seed's markers or a chat template) and cuts what does not fit by a
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

    private final ChatFormat format;
    private final Truncation truncation;
    private final int maxLength;
    private int examples;
    private int promptsCut;
    private int responsesCut;
    private int dropped;

    /** With the tokenizer's own chat format ({@link ChatFormat#of}). */
    public ExampleEncoder(Tokenizer tokenizer, Truncation truncation, int context) {
        this(ChatFormat.of(tokenizer), truncation, context);
    }

    public ExampleEncoder(ChatFormat format, Truncation truncation, int context) {
        this.format = format;
        this.truncation = truncation;
        this.maxLength = truncation.maxLengthFor(context);
        if (maxLength < 4) {
            throw new IllegalArgumentException("--max-length " + maxLength + " leaves no room for a prompt and a response");
        }
    }

    public int maxLength() {
        return maxLength;
    }

    /** The chat format this encoder frames examples with. */
    public ChatFormat format() {
        return format;
    }

    /** A plain prompt as one user message; see {@link #prompt(List, int, String)}. */
    public int[] prompt(String prompt, int maxNewTokens, String where) {
        return prompt(ChatFormat.userTurn(prompt), maxNewTokens, where);
    }

    /**
     * The framed prompt for generation (Seed's {@code <|prompt|> prompt <|response|>}, or the chat template's
     * rendering with the generation prompt), leaving {@code maxNewTokens} of {@code maxLength} for the response.
     * {@code where} (file:line) names the example in errors.
     */
    public int[] prompt(List<ChatTemplate.Message> conversation, int maxNewTokens, String where) {
        examples++;
        int budget = maxLength - maxNewTokens;
        if (truncation.maxPromptLength() > 0) {
            budget = Math.min(budget, truncation.maxPromptLength());
        }
        ChatFormat.PromptIds p = format.prompt(conversation);
        if (budget < p.framing() + 1) {
            throw new IllegalArgumentException("--max-length " + maxLength + " with " + maxNewTokens
                    + " new tokens leaves no room for a prompt");
        }
        return cutPrompt(p, budget, where).ids();
    }

    /** One prompt and its response; null when the example is dropped ({@code --truncate-response drop}). */
    public Encoded example(String prompt, String response, String where) {
        return example(ChatFormat.userTurn(prompt), response, where);
    }

    /** A conversation and the assistant's response to it; null when the example is dropped. */
    public Encoded example(List<ChatTemplate.Message> conversation, String response, String where) {
        List<Encoded> one = group(conversation, List.of(response), where);
        return one == null ? null : one.get(0);
    }

    /** One prompt with several responses cut by the same rule; null when any response forces a drop. */
    public List<Encoded> group(String prompt, List<String> responses, String where) {
        return group(ChatFormat.userTurn(prompt), responses, where);
    }

    /** One conversation with several responses cut by the same rule; null when any response forces a drop. */
    public List<Encoded> group(List<ChatTemplate.Message> conversation, List<String> responses, String where) {
        examples++;
        List<ChatFormat.ResponseIds> rs = new ArrayList<>();
        int need = 0;
        for (String r : responses) {
            ChatFormat.ResponseIds ids = format.response(conversation, r);
            rs.add(ids);
            need = Math.max(need, ids.text().length + ids.end().length);
        }
        int budget = truncation.maxPromptLength() > 0 ? truncation.maxPromptLength()
                : Math.max(maxLength / 2, maxLength - need);
        ChatFormat.PromptIds p = cutPrompt(format.prompt(conversation), budget, where);
        int room = maxLength - p.length();
        boolean cut = false;
        List<Encoded> out = new ArrayList<>();
        for (ChatFormat.ResponseIds r : rs) {
            int whole = r.text().length + r.end().length;
            if (whole <= room) {
                out.add(new Encoded(frame(p, r.text(), r.end()), p.length(), true));
                continue;
            }
            switch (truncation.response()) {
                case ERROR -> throw new IllegalArgumentException(where + ": the response has " + r.text().length
                        + " tokens but only " + (room - r.end().length) + " fit after the prompt (--max-length " + maxLength
                        + "); pass --truncate-response right to cut its end or drop to skip the example");
                case DROP -> {
                    dropped++;
                    return null;
                }
                case RIGHT -> {
                    // the first `room` ids of response + turn end: the end is cut first, as TRL cuts completion ids
                    out.add(new Encoded(frame(p, Arrays.copyOf(frame(EMPTY, r.text(), r.end()), room), new int[0]),
                            p.length(), false));
                    cut = true;
                }
            }
        }
        responsesCut += cut ? 1 : 0;
        return out;
    }

    private static final ChatFormat.PromptIds EMPTY = new ChatFormat.PromptIds(new int[0], new int[0], new int[0]);

    private ChatFormat.PromptIds cutPrompt(ChatFormat.PromptIds p, int budget, String where) {
        if (p.length() <= budget) {
            return p;
        }
        if (truncation.prompt() == Truncation.Prompt.ERROR) {
            throw new IllegalArgumentException(where + ": the prompt has " + p.length() + " tokens (with its framing) "
                    + "but only " + budget + " fit (--max-length " + maxLength
                    + (truncation.maxPromptLength() > 0 ? ", --max-prompt-length " + truncation.maxPromptLength() : "")
                    + "); pass --truncate-prompt left to keep its end");
        }
        if (budget - p.framing() < 1) {
            throw new IllegalArgumentException(where + ": the chat format's framing takes " + p.framing() + " tokens, "
                    + "more than the " + budget + " a prompt may have; raise --max-length or --max-prompt-length");
        }
        promptsCut++;
        return p.keepLast(budget - p.framing());
    }

    private static int[] frame(ChatFormat.PromptIds p, int[] response, int[] end) {
        int[] ids = Arrays.copyOf(p.ids(), p.length() + response.length + end.length);
        System.arraycopy(response, 0, ids, p.length(), response.length);
        System.arraycopy(end, 0, ids, p.length() + response.length, end.length);
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
