package seed.stages.curate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reads raw documents: a file or a folder (its files recursively, in sorted order). A {@code .jsonl} file holds one
 * document a line, {@code {"text": ...}} (an optional "id" names it; other string fields such as "prompt" and
 * "response" are joined when there is no "text", so evaluation sets read as they are). Any other file is UTF-8 text:
 * one document per file ({@code split=file}) or one per block separated by a line holding only {@code ---} or by two
 * or more blank lines ({@code split=blank-lines}, where a single blank line stays a paragraph break).
 */
public final class Documents {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Documents() {
    }

    /** The input files under {@code in}, in sorted order. */
    static List<Path> files(Path in) throws IOException {
        if (!Files.exists(in)) {
            throw new NoSuchFileException(in.toString(), null, "no such file or folder (curate --in)");
        }
        if (!Files.isDirectory(in)) {
            return List.of(in);
        }
        try (Stream<Path> walk = Files.walk(in)) {
            return walk.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted().toList();
        }
    }

    /** Every document of {@code in} (all read at once; {@link #stream} reads file by file). */
    static List<Document> read(Path in, String split) throws IOException {
        List<Document> all = new ArrayList<>();
        for (Path f : files(in)) {
            all.addAll(readFile(f, split));
        }
        return all;
    }

    /** The documents of {@code in}, file by file, so a large folder is never held in memory whole. */
    static Iterator<List<Document>> stream(Path in, String split) throws IOException {
        Iterator<Path> files = files(in).iterator();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return files.hasNext();
            }

            @Override
            public List<Document> next() {
                try {
                    return readFile(files.next(), split);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
    }

    static List<Document> readFile(Path f, String split) throws IOException {
        return readFile(f, split, false);
    }

    /**
     * The items of an evaluation file: as {@link #readFile}, except that each string field of a JSONL line is its
     * own item (a question pasted into a page without its answer must still match).
     */
    static List<Document> readItems(Path in, String split) throws IOException {
        List<Document> all = new ArrayList<>();
        for (Path f : files(in)) {
            all.addAll(readFile(f, split, true));
        }
        return all;
    }

    private static List<Document> readFile(Path f, String split, boolean fieldsApart) throws IOException {
        String name = f.getFileName().toString();
        if (name.endsWith(".jsonl")) {
            return jsonl(f, fieldsApart);
        }
        String text = Files.readString(f, StandardCharsets.UTF_8);
        List<Document> docs = new ArrayList<>();
        switch (split) {
            case "file" -> docs.add(new Document(f.toString(), text));
            case "blank-lines" -> {
                int index = 0;
                for (String block : text.split("\\n[ \\t]*---[ \\t]*\\n|\\n(?:[ \\t]*\\n){2,}")) {
                    if (!block.isBlank()) {
                        docs.add(new Document(f + ":" + index++, block.strip()));
                    }
                }
            }
            default -> throw new IllegalArgumentException("--split must be file or blank-lines, got '" + split + "'");
        }
        return docs;
    }

    private static List<Document> jsonl(Path f, boolean fieldsApart) throws IOException {
        List<Document> docs = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new IllegalArgumentException(f + ":" + number + ": not a JSON object: "
                            + e.getOriginalMessage());
                }
                if (node == null || !node.isObject()) {
                    throw new IllegalArgumentException(f + ":" + number + ": expected a JSON object {\"text\": ...}");
                }
                String text;
                if (fieldsApart) {
                    int field = 0;
                    for (var e : (Iterable<Map.Entry<String, JsonNode>>) node::fields) {
                        if (e.getValue().isTextual() && !e.getKey().equals("id")) {
                            docs.add(new Document(f + ":" + number + ":" + field++, e.getValue().asText()));
                        }
                    }
                    continue;
                }
                if (node.hasNonNull("text")) {
                    text = node.get("text").asText();
                } else {
                    StringBuilder joined = new StringBuilder();
                    node.fields().forEachRemaining(e -> {
                        if (e.getValue().isTextual() && !e.getKey().equals("id")) {
                            joined.append(joined.isEmpty() ? "" : "\n").append(e.getValue().asText());
                        }
                    });
                    if (joined.isEmpty()) {
                        throw new IllegalArgumentException(f + ":" + number + ": no \"text\" field");
                    }
                    text = joined.toString();
                }
                String id = node.hasNonNull("id") ? node.get("id").asText() : f + ":" + number;
                docs.add(new Document(id, text));
            }
        }
        return docs;
    }
}
