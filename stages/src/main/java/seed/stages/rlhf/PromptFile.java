package seed.stages.rlhf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import seed.stages.data.ChatFormat;
import seed.stages.data.ChatTemplate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the RL stage's prompts: JSONL with a string {@code "prompt"} per line (extra fields such as an SFT
 * {@code "response"} are ignored, so an SFT file works as is), or a conversation: {@code "prompt"} or
 * {@code "messages"} as a list of {role, content} messages, rendered by {@link ChatTemplate} (a final assistant
 * message, the response of an SFT conversation, is left out). Bad JSON or a missing prompt is an error naming the line.
 */
public final class PromptFile {

    /**
     * One prompt text (Seed's rendering), the 1-based line it came from (for errors and truncation reports) and the
     * conversation it renders (what a chat template frames).
     */
    public record Prompt(String text, int line, List<ChatTemplate.Message> conversation) {

        public Prompt {
            conversation = List.copyOf(conversation);
        }

        /** A plain prompt: one user message. */
        public Prompt(String text, int line) {
            this(text, line, ChatFormat.userTurn(text));
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private PromptFile() {
    }

    /** The prompt texts, blank ones skipped. */
    public static List<String> read(Path file) throws IOException {
        return readPrompts(file).stream().map(Prompt::text).toList();
    }

    /** The prompts with their line numbers, blank ones skipped. */
    public static List<Prompt> readPrompts(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("prompts file " + file + " does not exist or is not a file");
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<Prompt> prompts = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String text = lines.get(i).strip();
            if (text.isEmpty()) {
                continue;
            }
            JsonNode node;
            try {
                node = JSON.readTree(text);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": not valid JSON (" + e.getOriginalMessage() + ")");
            }
            String where = file + ":" + (i + 1);
            JsonNode p = node == null ? null : node.get("prompt");
            List<ChatTemplate.Message> conversation;
            if (p != null && p.isArray()) {
                conversation = ChatTemplate.messages(p, where, "prompt");
            } else if (p == null && node != null && node.has("messages")) {
                conversation = ChatTemplate.messages(node.get("messages"), where, "messages");
                if (conversation.get(conversation.size() - 1).role().equals("assistant") && conversation.size() > 1) {
                    conversation = conversation.subList(0, conversation.size() - 1);
                }
            } else if (p == null || !p.isTextual()) {
                throw new IllegalArgumentException(where + ": field \"prompt\" is missing or not a string (or give "
                        + "\"messages\", a list of {\"role\", \"content\"})");
            } else {
                conversation = ChatFormat.userTurn(p.asText());
            }
            String prompt = ChatTemplate.render(conversation);
            if (!prompt.isBlank()) {
                prompts.add(new Prompt(prompt, i + 1, conversation));
            }
        }
        return prompts;
    }
}
