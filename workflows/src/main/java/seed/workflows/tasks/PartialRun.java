package seed.workflows.tasks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A training stage run that stops early and/or continues another run's checkpoint: what successive halving
 * ({@code seed.sweep}) asks of pretraining and SFT. The learning-rate schedule still spans all {@code steps}, so a run
 * stopped at step 30 and continued to step 90 from its checkpoint computes exactly what one 90-step stretch of the
 * same run would (exact resume: weights, AdamW moments, step counter and batch order come from the checkpoint).
 *
 * @param stopAt     stop after this step with a resumable checkpoint (0 = run to the end)
 * @param resumeFrom an earlier (stopped) run's checkpoint of the same settings to continue from (null = none)
 */
public record PartialRun(int stopAt, Path resumeFrom) {

    /** Reads the two task inputs; an empty {@code resumeFrom} means none. */
    static PartialRun of(int stopAt, String resumeFrom, int steps) {
        if (stopAt < 0) {
            throw new IllegalArgumentException("input 'stopAt' must be >= 0 (0 = run to the end), got " + stopAt);
        }
        Path from = resumeFrom == null || resumeFrom.isBlank() ? null : Path.of(resumeFrom);
        if (from != null && !Files.isDirectory(from)) {
            throw new IllegalArgumentException("input 'resumeFrom': " + from + " is not a checkpoint folder");
        }
        return new PartialRun(stopAt >= steps ? 0 : stopAt, from);
    }

    /**
     * Adds what makes this run differ from a plain one to its store address: the stop step among the settings and the
     * continued checkpoint among the hashed inputs (so the lineage links a promoted trial to its earlier rung).
     * A plain run (no stop, no resume) keeps the address it always had.
     */
    void address(Map<String, Object> settings, Map<String, Path> inputs) {
        if (stopAt > 0) {
            settings.put("stop_at", stopAt);
        }
        if (resumeFrom != null) {
            inputs.put("resume_from", resumeFrom);
        }
    }

    /** Where training continues from: this folder's own last checkpoint (an interrupted run), else resumeFrom. */
    Path resumeIn(Path workDir) {
        return Files.exists(workDir.resolve("latest")) ? workDir : resumeFrom;
    }
}
