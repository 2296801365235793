package seed.workflows.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.executions.TaskRun;
import io.kestra.core.models.flows.State;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.workflows.demo.DemoInputs;
import seed.workflows.engine.FlowInputs;
import seed.workflows.engine.SeedEngine;
import seed.workflows.engine.SeedHost;

/**
 * {@code seed.three-stage} with {@code sweep: true} in the embedded engine at a tiny size: seed.sweep tunes the
 * learning rate of pretraining (3 settings, rungs at 20 and 60 of the chain's 60 steps) or of SFT first, and the
 * chain's stage is then the best trial's own run: the same inputs, so the stage's store reuses it (no step computed
 * again) and the next stage starts from the best trial's checkpoint. The run is stopped once SFT is done: the later
 * stages are what {@code ThreeStageFlowTest} covers.
 */
class SweepChainFlowTest {

    private static final DemoInputs TINY = new DemoInputs(5, 96, 2, 64, 4, 60, 30, 40, 4, 48);

    @Test
    void theBestTrialOfAPretrainSweepIsTheChainsPretrainStageReusedFromTheStore(@TempDir Path dir) throws Exception {
        // 3 trials x 20 steps, then the best continues from step 20 to 60: 100 of the grid's 180
        chain(dir, "pretrain", "{\"params\": {\"learning_rate\": [0.0003, 0.003, 0.01]}}", 3, 60, 100, 180);
    }

    @Test
    void theBestTrialOfAnSftSweepIsTheChainsSftStageReusedFromTheStore(@TempDir Path dir) throws Exception {
        // reduction 2, rungs 10 and 30 of the chain's 30 SFT steps: 2 x 10 + 1 x 20 = 40 of the grid's 60
        chain(dir, "sft", "{\"params\": {\"learning_rate\": [0.0005, 0.003]}}", 2, 30, 40, 60);
    }

    /**
     * Runs the chain with a sweep of {@code stage} (first rung at 10 or 20 steps, tiny on purpose) until SFT is done,
     * and checks that the stage is the sweep's best trial reused from the store and the next stage starts from it.
     */
    private static void chain(Path dir, String stage, String space, int reduction, int budget, int sweepSteps,
            int gridSteps) throws Exception {
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir, 0, false, 2), Map.of())) {
            Map<String, Object> inputs = new LinkedHashMap<>(TINY.write(dir.resolve("data"), dir.resolve("report")));
            inputs.put("sweep", true);
            inputs.put("sweep_stage", stage);
            inputs.put("sweep_space", space);
            inputs.put("sweep_min_steps", budget / 3);
            inputs.put("sweep_reduction", reduction);
            SeedEngine engine = host.engine();
            String id = engine.launch("seed.three-stage", inputs, "test").getId();
            Execution run = engine.await(id, e -> SeedEngine.finished(e) || task(e, "sft")
                    .filter(t -> t.getState().getCurrent() == State.Type.SUCCESS).isPresent(), Duration.ofMinutes(15));
            if (!SeedEngine.finished(run)) {
                engine.kill(id); // annotation and RL are not what this test is about
            }
            String other = stage.equals("pretrain") ? "sft" : "pretrain";
            for (String task : new String[] {"sweep_" + stage, "pretrain", "sft"}) {
                assertEquals(State.Type.SUCCESS, task(run, task).orElseThrow().getState().getCurrent(), task);
            }
            assertEquals(State.Type.SKIPPED, task(run, "sweep_" + other).orElseThrow().getState().getCurrent());

            Map<String, Object> sweep = child(engine, id, "sweep").getOutputs();
            assertEquals(sweepSteps, ((Number) sweep.get("sweep_steps")).intValue(), sweep.toString());
            assertEquals(gridSteps, ((Number) sweep.get("grid_steps")).intValue(), sweep.toString());
            Map<?, ?> best = (Map<?, ?>) sweep.get("best");
            Map<?, ?> bestInputs = (Map<?, ?>) sweep.get("best_inputs");
            assertEquals(budget, ((Number) best.get("steps")).intValue(), best.toString());

            Execution tuned = child(engine, id, stage);
            assertEquals(Boolean.TRUE, task(tuned, stage).orElseThrow().getOutputs().get("reused"),
                    "the best trial's run came from the store");
            assertEquals(Path.of((String) best.get("checkpoint")), Path.of((String) tuned.getOutputs()
                    .get("checkpoint")), "the chain's " + stage + " checkpoint is the sweep's best");
            assertEquals(((Number) best.get("learning_rate")).doubleValue(),
                    ((Number) tuned.getInputs().get("learning_rate")).doubleValue(), 1e-12);
            assertEquals(bestInputs.get("resume_from"), tuned.getInputs().get("resume_from"),
                    "the same continued checkpoint as the best trial's last run");
            assertEquals(child(engine, id, "pretrain").getOutputs().get("checkpoint"),
                    child(engine, id, "sft").getInputs().get("base"));
            if (!SeedEngine.finished(run)) {
                engine.awaitTerminated(id, Duration.ofMinutes(2));
            }
        }
    }

    @Test
    void theChainsFallbacksForStageInputsItDidNotPassBeforeAreTheStageFlowsDefaults() throws Exception {
        String yaml = new String(SweepChainFlowTest.class.getResourceAsStream("/flows/seed.three-stage.yaml")
                .readAllBytes());
        for (String stage : new String[] {"pretrain", "sft"}) {
            FlowInputs.FlowSpec flow = FlowInputs.of(stage);
            for (String input : new String[] {"batch", "learning_rate", "stop_at"}) {
                Object d = flow.input(input).defaults();
                String line = input + ": \"{{ outputs.sweep_" + stage + ".outputs.best_inputs." + input + " ?? " + d
                        + " }}\"";
                assertTrue(yaml.contains(line) || (stage.equals("sft") && input.equals("learning_rate")),
                        stage + ": expected the line " + line);
            }
        }
    }

    private static Optional<TaskRun> task(Execution e, String taskId) {
        return e.getTaskRunList() == null ? Optional.empty()
                : e.getTaskRunList().stream().filter(t -> t.getTaskId().equals(taskId)).findFirst();
    }

    private static Execution child(SeedEngine engine, String parent, String flowId) {
        return engine.children(parent).stream().filter(c -> c.getFlowId().equals(flowId)).reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("no child execution of flow " + flowId));
    }
}
