package seed.stages.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Appends one JSON object per line to a run's {@code metrics.jsonl}: the machine-readable record of a run that
 * charts, dashboards and auditors read. On resume, lines past the resumed step are dropped first so the file
 * describes one consistent history.
 */
public final class MetricsLog implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final BufferedWriter out;

    private MetricsLog(Path file, BufferedWriter out) {
        this.file = file;
        this.out = out;
    }

    /** Opens {@code file} for appending, first keeping only records whose "step" is at most {@code keepUpToStep}. */
    public static MetricsLog open(Path file, long keepUpToStep) throws IOException {
        if (Files.exists(file)) {
            List<String> kept = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank() && JSON.readTree(line).path("step").asLong(Long.MAX_VALUE) <= keepUpToStep) {
                    kept.add(line);
                }
            }
            Path temp = Files.createTempFile(file.toAbsolutePath().getParent(), ".metrics", ".tmp");
            Files.write(temp, kept, StandardCharsets.UTF_8);
            Files.move(temp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return new MetricsLog(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND));
    }

    /** Writes one record; values may be numbers, strings or booleans. Flushed at once so a crash loses nothing. */
    public void log(Map<String, ?> record) {
        ObjectNode node = JSON.valueToTree(record);
        try {
            out.write(JSON.writeValueAsString(node));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** Reads every record of a metrics file, for charts and reports. */
    public static List<Map<String, Object>> read(Path file) throws IOException {
        List<Map<String, Object>> records = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                @SuppressWarnings("unchecked")
                Map<String, Object> record = JSON.readValue(line, Map.class);
                records.add(record);
            }
        }
        return records;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
