package seed.stages.data;

import java.util.List;

/**
 * One SFT example as read from JSONL: the prompt (Seed's text rendering of the conversation), the wanted response,
 * where it came from (for errors), and the conversation itself (the messages before the response), which a chat
 * template renders in its own way.
 */
public record InstructionExample(String prompt, String response, int lineNumber, List<ChatTemplate.Message> conversation) {

    public InstructionExample {
        conversation = List.copyOf(conversation);
    }

    /** A plain prompt: the conversation is that one user message. */
    public InstructionExample(String prompt, String response, int lineNumber) {
        this(prompt, response, lineNumber, ChatFormat.userTurn(prompt));
    }
}
