package seed.stages.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads SFT data: JSONL, one example per line, either {@code {"prompt": ..., "response": ...}} (also
 * {@code "completion"} for the response, as TRL names it) or conversational as TRL's formats:
 * {@code {"messages": [{"role", "content"}, ...]}} whose last message is the assistant's response, or
 * {@code "prompt"} / {@code "completion"} as message lists. Conversations become prompt text through the one
 * {@link ChatTemplate}. Any malformed line stops the read with an error naming the file, the line and what is wrong.
 */
public final class InstructionFile {

    private static final ObjectMapper JSON = new ObjectMapper();

    private InstructionFile() {
    }

    public static List<InstructionExample> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "SFT data file not found");
        }
        List<InstructionExample> examples = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                examples.add(parse(file, line, number));
            }
        }
        if (examples.isEmpty()) {
            throw new IOException(file + " holds no examples (expected JSONL lines {\"prompt\": ..., \"response\": ...})");
        }
        return examples;
    }

    private static InstructionExample parse(Path file, String line, int number) throws IOException {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IOException(file + " line " + number + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isObject()) {
            throw new IOException(file + " line " + number + ": expected a JSON object with \"prompt\" and \"response\" "
                    + "(or \"messages\")");
        }
        String where = file + ":" + number;
        try {
            if (node.has("messages")) {
                List<ChatTemplate.Message> messages = ChatTemplate.messages(node.get("messages"), where, "messages");
                String[] pr = ChatTemplate.promptAndResponse(messages, where);
                return new InstructionExample(pr[0], nonEmpty(pr[1], where, "messages"), number,
                        messages.subList(0, messages.size() - 1));
            }
            List<ChatTemplate.Message> conversation = node.path("prompt").isArray()
                    ? ChatTemplate.messages(node.get("prompt"), where, "prompt")
                    : ChatFormat.userTurn(text(file, node, "prompt", number));
            String prompt = ChatTemplate.render(conversation);
            String field = node.has("completion") && !node.has("response") ? "completion" : "response";
            JsonNode r = node.get(field);
            String response;
            if (r != null && r.isArray()) {
                List<ChatTemplate.Message> turns = ChatTemplate.messages(r, where, field);
                response = nonEmpty(turns.get(turns.size() - 1).content(), where, field);
            } else {
                response = text(file, node, field, number);
            }
            return new InstructionExample(prompt, response, number, conversation);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static String nonEmpty(String text, String where, String field) {
        if (text.isEmpty()) {
            throw new IllegalArgumentException(where + ": the response in \"" + field + "\" is empty");
        }
        return text;
    }

    private static String text(Path file, JsonNode node, String field, int number) throws IOException {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            throw new IOException(file + " line " + number + ": missing \"" + field + "\"");
        }
        if (!value.isTextual()) {
            throw new IOException(file + " line " + number + ": \"" + field + "\" must be a string, got "
                    + value.getNodeType().toString().toLowerCase());
        }
        if (value.asText().isEmpty()) {
            throw new IOException(file + " line " + number + ": \"" + field + "\" is empty");
        }
        return value.asText();
    }
}
