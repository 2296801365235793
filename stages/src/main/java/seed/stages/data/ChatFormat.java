package seed.stages.data;

import seed.stages.tokenizer.HfTokenizer;
import seed.stages.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * How a conversation becomes token ids for one tokenizer: the one place every stage (SFT, reward model, candidates,
 * RL, generation) asks where a prompt ends, how a response is closed, which token stops generation and where a
 * response starts in a sequence. Seed's own tokenizers use {@link SeedChatFormat} ({@code <|prompt|> text
 * <|response|> response <|endoftext|>}, today's ids exactly); a Hugging Face tokenizer uses its Jinja chat template,
 * or Seed's documented default template when it has none ({@link JinjaChatFormat}).
 */
public interface ChatFormat {

    /**
     * A prompt's ids in three parts: {@code head} and {@code tail} are framing that truncation keeps (Seed's markers,
     * a template's bos and generation prompt), {@code body} the rest, cut from its beginning when too long.
     */
    record PromptIds(int[] head, int[] body, int[] tail) {

        /** The framing's length (head + tail). */
        public int framing() {
            return head.length + tail.length;
        }

        public int length() {
            return head.length + body.length + tail.length;
        }

        /** head + body + tail. */
        public int[] ids() {
            int[] out = new int[length()];
            System.arraycopy(head, 0, out, 0, head.length);
            System.arraycopy(body, 0, out, head.length, body.length);
            System.arraycopy(tail, 0, out, head.length + body.length, tail.length);
            return out;
        }

        /** The same framing with only the last {@code n} body ids (left truncation). */
        public PromptIds keepLast(int n) {
            return new PromptIds(head, Arrays.copyOfRange(body, body.length - n, body.length), tail);
        }
    }

    /** A response's own ids and the ids that close its turn (left out when the response is cut at the right). */
    record ResponseIds(int[] text, int[] end) {
    }

    /** The tokenizer whose ids this format produces. */
    Tokenizer tokenizer();

    /** Short name for reports: "seed", "chat_template" or "default_template". */
    String name();

    /** The prompt of a conversation (messages before the response), ending where the response begins. */
    PromptIds prompt(List<ChatTemplate.Message> conversation);

    /** The ids of {@code response} as the assistant's next turn after {@code conversation}, and its turn's end. */
    ResponseIds response(List<ChatTemplate.Message> conversation, String response);

    /** The ids that close a complete response (what a finished generation is scored with). */
    int[] endOfTurn();

    /** Generation's stop rule: whether sampling {@code id} ends the response. */
    boolean endsResponse(int id);

    /** The text a generated response shows: framing and special tokens left out. */
    String visibleText(int[] generated);

    /**
     * Where the response starts in an encoded sequence (prompt then response), for read-outs that look at the
     * response's tokens only; 1 when the format cannot tell.
     */
    int responseStart(int[] sequence);

    /** The format of a tokenizer: its chat template for a Hugging Face tokenizer, Seed's markers otherwise. */
    static ChatFormat of(Tokenizer tokenizer) {
        if (tokenizer instanceof HfTokenizer hf) {
            return JinjaChatFormat.of(hf);
        }
        return new SeedChatFormat(tokenizer);
    }

    /** A plain prompt string as a conversation: one user message (how Seed has always read {"prompt": "..."}). */
    static List<ChatTemplate.Message> userTurn(String prompt) {
        return List.of(new ChatTemplate.Message("user", prompt));
    }
}
