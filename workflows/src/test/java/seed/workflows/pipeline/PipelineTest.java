package seed.workflows.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.workflows.lineage.Artifact;
import seed.workflows.lineage.RunManifest;
import seed.workflows.lineage.StepRecord;

/**
 * The main job end to end at a tiny size, on the real parts: DJL training for every stage, an in-process Kafka broker
 * and an embedded PostgreSQL for the annotations. Checks that every step is recorded with verifiable hashes, that
 * each step consumes exactly what the previous one produced, and that a rerun resumes instead of redoing work.
 */
class PipelineTest {

    @Test
    void wholePipelineRunsRecordsLineageAndResumes(@TempDir Path dir) throws Exception {
        PipelineSettings settings = new PipelineSettings(dir.resolve("run"), null, null, 5, 1, 80, 200, 2, 64, 4, 96,
                60, 6);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Map<String, Object> headline = new Pipeline(settings, new PrintStream(log, true, StandardCharsets.UTF_8)).run();

        RunManifest.Content run = RunManifest.read(dir.resolve("run/run.json"));
        List<String> names = run.steps().stream().map(StepRecord::name).toList();
        assertEquals(List.of("data", "pretrain", "sft", "candidates", "annotation", "reward", "rlhf"), names);
        for (StepRecord step : run.steps()) {
            for (Artifact artifact : step.outputs().values()) {
                assertTrue(artifact.verify(), step.name() + " output changed or is missing: " + artifact.path());
            }
        }
        // each step's inputs are the previous steps' outputs, byte for byte (same SHA-256)
        assertEquals(output(run, "pretrain", "checkpoint"), input(run, "sft", "base"));
        assertEquals(output(run, "sft", "checkpoint"), input(run, "candidates", "model"));
        assertEquals(output(run, "annotation", "snapshot"), input(run, "reward", "rankings"));
        assertEquals(output(run, "reward", "model"), input(run, "rlhf", "reward"));

        assertTrue(((Number) headline.get("rankings")).intValue() > 100, "rankings ingested: " + headline);
        assertEquals(0, ((Number) step(run, "annotation").metrics().get("refused")).intValue());
        assertEquals(Boolean.TRUE, headline.get("reference_frozen"));
        assertTrue(Files.size(dir.resolve("run/report/index.html")) > 1000);

        // resume: nothing is redone when every output still hashes the same
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        new Pipeline(settings, new PrintStream(again, true, StandardCharsets.UTF_8)).run();
        String second = again.toString(StandardCharsets.UTF_8);
        assertEquals(7, second.split("skipped", -1).length - 1, second);
    }

    private static StepRecord step(RunManifest.Content run, String name) {
        return run.steps().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    private static String output(RunManifest.Content run, String step, String name) {
        return step(run, step).outputs().get(name).sha256();
    }

    private static String input(RunManifest.Content run, String step, String name) {
        return step(run, step).inputs().get(name).sha256();
    }
}
