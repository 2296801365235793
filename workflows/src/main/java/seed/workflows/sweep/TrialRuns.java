package seed.workflows.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.metrics.MetricsLog;

/**
 * Reads what a finished trial run left in its run folder (the stage's own files, not what the driver believes):
 * the optimizer steps it computed (its metrics.jsonl logs one line per step it ran, starting after the step it
 * resumed from), its validation curve, its wall time, the model's size and the tokens seen.
 */
public final class TrialRuns {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TrialRuns() {
    }

    /** The run of trial {@code trial} at rung {@code rung} whose stage returned {@code checkpoint} and {@code metric}. */
    public static SweepState.Run read(int trial, int rung, double metric, Path checkpoint) throws IOException {
        Path ckpt = Checkpoints.resolve(checkpoint);
        Path runDir = ckpt.getParent().getParent(); // run folder/checkpoints/<step>
        JsonNode state = JSON.readTree(ckpt.resolve(Checkpoints.STATE).toFile());
        List<Map<String, Object>> lines = MetricsLog.read(runDir.resolve("metrics.jsonl"));
        long computed = lines.stream().filter(l -> l.containsKey("loss") && l.get("step") instanceof Number).count();
        List<double[]> curve = new ArrayList<>();
        for (Map<String, Object> l : lines) {
            if (l.get("step") instanceof Number s && l.get("val_loss") instanceof Number v) {
                curve.add(new double[] {s.doubleValue(), v.doubleValue()});
            }
        }
        long params = Checkpoints.readConfig(ckpt).parameterCount();
        return new SweepState.Run(trial, rung, state.path("step").asInt(), metric, ckpt.toString(), computed,
                seconds(runDir.resolve("metrics.jsonl"), ckpt.resolve(Checkpoints.STATE)), params,
                state.path("tokensSeen").asLong(), curve);
    }

    /** From the metrics log's creation (the run's start) to its final checkpoint's state file (its end). */
    private static double seconds(Path metrics, Path finalState) throws IOException {
        BasicFileAttributes start = Files.readAttributes(metrics, BasicFileAttributes.class);
        long end = Files.getLastModifiedTime(finalState).toMillis();
        return Math.max(0, end - start.creationTime().toMillis()) / 1000.0;
    }
}
