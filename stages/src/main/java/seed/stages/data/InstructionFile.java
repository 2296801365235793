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
 * Reads SFT data: JSONL, one {@code {"prompt": ..., "response": ...}} object per line. Any malformed line stops the
 * read with an error that names the file, the line number and what is wrong with it.
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
            throw new IOException(file + " line " + number + ": expected a JSON object with \"prompt\" and \"response\"");
        }
        return new InstructionExample(text(file, node, "prompt", number), text(file, node, "response", number), number);
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
