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
        Log log = log(runDir.resolve("metrics.jsonl"));
        long params = Checkpoints.readConfig(ckpt).parameterCount();
        return new SweepState.Run(trial, rung, state.path("step").asInt(), metric, ckpt.toString(), log.computed(),
                seconds(runDir.resolve("metrics.jsonl"), ckpt.resolve(Checkpoints.STATE)), params,
                state.path("tokensSeen").asLong(), log.curve());
    }

    /**
     * The run of a stage without exact resume (reward model, DPO): it trained all {@code steps} from its start; its
     * folder's metrics.jsonl (next to the model, when the stage writes one) gives the steps it computed and the curve.
     */
    public static SweepState.Run whole(int trial, int rung, int steps, double metric, Path artifact) throws IOException {
        Path metrics = artifact.toAbsolutePath().resolveSibling("metrics.jsonl");
        if (!Files.exists(metrics)) {
            return new SweepState.Run(trial, rung, steps, metric, artifact.toString(), steps, 0, 0, 0, List.of());
        }
        Log log = log(metrics);
        return new SweepState.Run(trial, rung, steps, metric, artifact.toString(),
                log.computed() == 0 ? steps : log.computed(), seconds(metrics, metrics), 0, 0, log.curve());
    }

    /** What a run's metrics.jsonl says: the optimizer steps it ran (one line each) and its validation curve. */
    private record Log(long computed, List<double[]> curve) {
    }

    private static Log log(Path metrics) throws IOException {
        List<Map<String, Object>> lines = MetricsLog.read(metrics);
        long computed = lines.stream().filter(l -> l.containsKey("loss") && l.get("step") instanceof Number).count();
        List<double[]> curve = new ArrayList<>();
        for (Map<String, Object> l : lines) {
            if (l.get("step") instanceof Number s && l.get("val_loss") instanceof Number v) {
                curve.add(new double[] {s.doubleValue(), v.doubleValue()});
            }
        }
        return new Log(computed, curve);
    }

    /** From the metrics log's creation (the run's start) to the last change of {@code end} (its final state file). */
    private static double seconds(Path metrics, Path end) throws IOException {
        BasicFileAttributes start = Files.readAttributes(metrics, BasicFileAttributes.class);
        long last = Files.getLastModifiedTime(end).toMillis();
        return Math.max(0, last - start.creationTime().toMillis()) / 1000.0;
    }
}
