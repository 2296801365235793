package seed.workflows.lineage;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import seed.stages.checkpoint.Checkpoints;

/**
 * A run's {@code run.json}: the ordered records of the steps that completed. Rewritten atomically after every step,
 * so a crashed or cancelled run knows exactly which steps are done; a resumed run skips a done step only if all of
 * its outputs still have the recorded hashes.
 */
public final class RunManifest {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** The file's content. */
    public record Content(String runId, String createdAt, List<StepRecord> steps) {
    }

    private final Path file;
    private Content content;

    private RunManifest(Path file, Content content) {
        this.file = file;
        this.content = content;
    }

    public static RunManifest openOrCreate(Path runDir, String runId) throws IOException {
        Path file = runDir.resolve("run.json");
        if (Files.exists(file)) {
            return new RunManifest(file, JSON.readValue(file.toFile(), Content.class));
        }
        RunManifest manifest = new RunManifest(file, new Content(runId, java.time.Instant.now().toString(),
                new ArrayList<>()));
        manifest.save();
        return manifest;
    }

    public static Content read(Path file) throws IOException {
        return JSON.readValue(file.toFile(), Content.class);
    }

    public Optional<StepRecord> step(String name) {
        return content.steps().stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /** Records a completed step (replacing an older record of the same name) and saves. */
    public void record(StepRecord step) throws IOException {
        List<StepRecord> steps = new ArrayList<>(content.steps());
        steps.removeIf(s -> s.name().equals(step.name()));
        steps.add(step);
        content = new Content(content.runId(), content.createdAt(), steps);
        save();
    }

    public Content content() {
        return content;
    }

    public Path file() {
        return file;
    }

    private void save() throws IOException {
        Checkpoints.writeAtomically(file, JSON.writeValueAsString(content));
    }
}
