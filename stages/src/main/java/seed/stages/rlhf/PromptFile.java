package seed.stages.rlhf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the RL stage's prompts: JSONL with a string {@code "prompt"} per line (extra fields such as an SFT
 * {@code "response"} are ignored, so an SFT file works as is). Bad JSON or a missing prompt is an error naming the line.
 */
public final class PromptFile {

    private static final ObjectMapper JSON = new ObjectMapper();

    private PromptFile() {
    }

    public static List<String> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("prompts file " + file + " does not exist or is not a file");
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<String> prompts = new ArrayList<>();
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
            JsonNode p = node == null ? null : node.get("prompt");
            if (p == null || !p.isTextual()) {
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": field \"prompt\" is missing or not a string");
            }
            if (!p.asText().isBlank()) {
                prompts.add(p.asText());
            }
        }
        return prompts;
    }
}
