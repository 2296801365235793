package seed.stages.data;

import seed.stages.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * Seed's own framing for its byte and BPE tokenizers, exactly the ids every stage has always built:
 * {@code <|prompt|> ChatTemplate.render(conversation) <|response|> response <|endoftext|>}.
 */
public final class SeedChatFormat implements ChatFormat {

    private final Tokenizer tokenizer;

    public SeedChatFormat(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public String name() {
        return "seed";
    }

    @Override
    public PromptIds prompt(List<ChatTemplate.Message> conversation) {
        return new PromptIds(new int[] {tokenizer.promptId()}, tokenizer.encode(ChatTemplate.render(conversation)),
                new int[] {tokenizer.responseId()});
    }

    @Override
    public ResponseIds response(List<ChatTemplate.Message> conversation, String response) {
        return new ResponseIds(tokenizer.encode(response), endOfTurn());
    }

    @Override
    public int[] endOfTurn() {
        return new int[] {tokenizer.endOfTextId()};
    }

    @Override
    public boolean endsResponse(int id) {
        return id == tokenizer.endOfTextId();
    }

    /** Decodes without the three special tokens (they end or frame a response; they are not part of its text). */
    @Override
    public String visibleText(int[] generated) {
        int eot = tokenizer.endOfTextId(), p = tokenizer.promptId(), r = tokenizer.responseId();
        return tokenizer.decode(Arrays.stream(generated).filter(t -> t != eot && t != p && t != r).toArray());
    }

    /** After the last {@code <|response|>}; 1 (after the first token) when there is none. */
    @Override
    public int responseStart(int[] sequence) {
        int start = 1;
        for (int t = 0; t < sequence.length; t++) {
            if (sequence[t] == tokenizer.responseId()) {
                start = t + 1;
            }
        }
        return start;
    }
}
