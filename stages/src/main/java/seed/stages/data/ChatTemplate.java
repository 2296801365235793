package seed.stages.data;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * Seed's one chat template, used at training (SFT, reward model, RL) and at generation time alike. A conversation
 * becomes the prompt text; the model then sees {@code <|prompt|> text <|response|> response <|endoftext|>}.
 *
 * <p>A conversation of a single user message renders as that message alone, so plain {@code {"prompt": ...}} data and
 * one-turn conversations are the same sequence. Anything longer renders one line per message,
 * {@code "System: ...", "User: ...", "Assistant: ..."}, joined by newlines, in order; the response being trained or
 * generated is the next assistant turn and is not part of the prompt text.
 */
public final class ChatTemplate {

    /** One message of a conversation; role is system, user or assistant. */
    public record Message(String role, String content) {
        public Message {
            if (!List.of("system", "user", "assistant").contains(role)) {
                throw new IllegalArgumentException("role must be system, user or assistant, got '" + role + "'");
            }
        }
    }

    private ChatTemplate() {
    }

    /** The prompt text of a conversation (everything before the response). */
    public static String render(List<Message> conversation) {
        if (conversation.isEmpty()) {
            throw new IllegalArgumentException("a conversation needs at least one message");
        }
        if (conversation.size() == 1 && conversation.get(0).role().equals("user")) {
            return conversation.get(0).content();
        }
        StringBuilder text = new StringBuilder();
        for (Message m : conversation) {
            if (!text.isEmpty()) {
                text.append('\n');
            }
            text.append(Character.toUpperCase(m.role().charAt(0))).append(m.role().substring(1)).append(": ")
                    .append(m.content());
        }
        return text.toString();
    }

    /**
     * Parses a JSON list of {@code {"role", "content"}} objects (TRL's conversational format); the error names
     * {@code where} (file:line) and the field {@code field}.
     */
    public static List<Message> messages(JsonNode list, String where, String field) {
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw new IllegalArgumentException(where + ": field \"" + field + "\" must be a non-empty list of "
                    + "{\"role\", \"content\"} messages");
        }
        List<Message> out = new ArrayList<>();
        for (JsonNode m : list) {
            JsonNode role = m.get("role");
            JsonNode content = m.get("content");
            if (role == null || !role.isTextual() || content == null || !content.isTextual()) {
                throw new IllegalArgumentException(where + ": every message of \"" + field + "\" needs string fields "
                        + "\"role\" and \"content\"");
            }
            try {
                out.add(new Message(role.asText(), content.asText()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": field \"" + field + "\": " + e.getMessage());
            }
        }
        return out;
    }

    /**
     * Splits a conversation that ends with an assistant turn into (prompt text, response): the SFT and preference
     * reading of a {@code messages} list. Fails, naming {@code where}, when the last message is not the assistant's.
     */
    public static String[] promptAndResponse(List<Message> conversation, String where) {
        Message last = conversation.get(conversation.size() - 1);
        if (!last.role().equals("assistant") || conversation.size() < 2) {
            throw new IllegalArgumentException(where + ": a conversation to train on must end with an assistant message "
                    + "after at least one other message (the last one is the response)");
        }
        return new String[] {render(conversation.subList(0, conversation.size() - 1)), last.content()};
    }
}
