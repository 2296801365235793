package seed.stages.serve;

import java.util.List;
import seed.stages.data.ChatTemplate;
import seed.stages.tokenizer.Tokenizer;

/**
 * How a chat request's messages become the model's prompt tokens: the one place chat rendering happens in
 * serving, so it can move to the chat-format abstraction (Hugging Face tokenizers and Jinja templates) when that
 * lands, without touching the server.
 */
@FunctionalInterface
public interface ChatPrompt {

    int[] encode(List<ChatTemplate.Message> messages);

    /**
     * Seed's own format, as SFT trained it and {@code Generator.instructionPrompt} generates:
     * {@code <|prompt|> ChatTemplate.render(messages) <|response|>}.
     */
    static ChatPrompt seed(Tokenizer tokenizer) {
        if (!(tokenizer instanceof seed.stages.tokenizer.BpeTokenizer)
                && !(tokenizer instanceof seed.stages.tokenizer.ByteTokenizer)) {
            return of(tokenizer);
        }
        return messages -> {
            int[] body = tokenizer.encode(ChatTemplate.render(messages));
            int[] ids = new int[body.length + 2];
            ids[0] = tokenizer.promptId();
            System.arraycopy(body, 0, ids, 1, body.length);
            ids[ids.length - 1] = tokenizer.responseId();
            return ids;
        };
    }

    /**
     * The tokenizer's own chat format ({@link seed.stages.data.ChatFormat}): a Hugging Face folder's Jinja chat
     * template with the generation prompt, or Seed's markers for Seed's tokenizers.
     */
    static ChatPrompt of(Tokenizer tokenizer) {
        seed.stages.data.ChatFormat format = seed.stages.data.ChatFormat.of(tokenizer);
        return messages -> format.prompt(messages).ids();
    }
}
