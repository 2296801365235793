package seed.workflows.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.executions.TaskRun;
import io.kestra.core.models.flows.State;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.workflows.demo.DemoInputs;

/**
 * The whole chain in the real embedded Kestra engine, at a tiny size, on the real parts (DJL training, the in-process
 * Kafka broker, embedded PostgreSQL, the annotation server's HTTP API): a stage that fails names itself and its cause,
 * and Kestra's restart ({@code seed resume}) runs only the failed stage again; the others keep their outputs. Then
 * rankings arrive after the run's snapshot and {@code seed.retrain}, launched with no prompts or settings as its
 * Schedule launches it, re-trains the reward model and RLHF with the chain run's prompts and settings (issue 17).
 */
class ThreeStageFlowTest {

    static final DemoInputs TINY = new DemoInputs(5, 96, 2, 64, 4, 60, 150, 40, 4, 48);

    @Test
    void failedRlhfResumesWithoutRedoingEarlierStages(@TempDir Path dir) throws Exception {
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir, 0, true, 2), Map.of())) {
            Map<String, Object> inputs = new java.util.LinkedHashMap<>(TINY.write(dir.resolve("data"),
                    dir.resolve("report")));
            Path heldOut = Path.of((String) inputs.get("held_out_prompts"));
            Path moved = heldOut.resolveSibling("held-out.later");
            Files.move(heldOut, moved); // RLHF (the only stage that reads it) fails, naming the missing input

            SeedEngine engine = host.engine();
            Execution run = engine.launch("seed.three-stage", inputs, "test");
            Execution failed = engine.awaitTerminated(run.getId(), Duration.ofMinutes(8));
            assertEquals(State.Type.FAILED, failed.getState().getCurrent(), () -> describe(engine, run.getId()));
            assertEquals(List.of("pretrain", "sft", "annotate", "reward"), succeeded(failed),
                    () -> describe(engine, run.getId()));
            String logs = String.join("\n", engine.logs(childOf(engine, run.getId(), "rlhf").getId()).stream()
                    .map(l -> l.getMessage()).toList());
            assertTrue(logs.contains("heldOutPrompts") && logs.contains("does not exist"), logs);

            Files.move(moved, heldOut);
            engine.restart(run.getId());
            Execution done = engine.await(run.getId(), e -> e.getState().getCurrent() == State.Type.SUCCESS
                    || e.getState().isFailed(), Duration.ofMinutes(5));
            assertEquals(State.Type.SUCCESS, done.getState().getCurrent(), () -> describe(engine, run.getId()));
            // each earlier stage ran once: one child execution per subflow, except RLHF which was restarted
            for (String stage : List.of("pretrain", "sft", "annotate", "reward")) {
                assertEquals(1, attempts(done, stage), stage + " ran again");
            }
            Map<String, Object> outputs = done.getOutputs();
            assertTrue(Files.isDirectory(Path.of((String) outputs.get("policy"))), outputs.toString());
            assertTrue(Files.size(Path.of((String) outputs.get("report"))) > 1000);
            assertTrue(((String) outputs.get("table")).contains("rule_rate_policy"), outputs.toString());

            // seed.retrain reads PostgreSQL: no ranking arrived since the snapshot, so it snapshots and trains nothing
            Execution retrain = engine.launch("seed.retrain", Map.of("min_new_rankings", 1, "prompts",
                    inputs.get("prompts"), "held_out_prompts", inputs.get("held_out_prompts")), "test");
            Execution checked = engine.awaitTerminated(retrain.getId(), Duration.ofMinutes(2));
            assertEquals(State.Type.SUCCESS, checked.getState().getCurrent(), () -> describe(engine, retrain.getId()));
            assertEquals(Boolean.FALSE, checked.getTaskRunList().stream().filter(t -> t.getTaskId().equals("check"))
                    .findFirst().orElseThrow().getOutputs().get("enough"));
            assertTrue(engine.children(retrain.getId()).isEmpty(), "nothing to re-train, yet a stage ran");

            // issue 17: new rankings arrive (new items, a late annotator), and the re-train is launched as its
            // Schedule launches it, with no prompts and no settings: they come from the chain run's KV entry
            Path candidates = Path.of((String) childOf(engine, run.getId(), "annotate").getOutputs().get("candidates"));
            StringBuilder again = new StringBuilder();
            for (String line : Files.readAllLines(candidates)) {
                if (!line.isBlank()) {
                    var n = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(line);
                    n.put("prompt", n.get("prompt").asText() + " ");
                    again.append(n).append('\n');
                }
            }
            Path late = Files.writeString(dir.resolve("late-candidates.jsonl"), again.toString());
            host.annotation().loadCandidates(late, 1);
            var annotator = host.annotation().addAnnotator("late", "annotator").annotator();
            int submitted = 0;
            for (var item = host.annotation().nextItem(annotator); item.isPresent();
                    item = host.annotation().nextItem(annotator)) {
                List<Integer> order = new java.util.ArrayList<>();
                for (int i = item.get().k() - 1; i >= 0; i--) {
                    order.add(i);
                }
                host.annotation().submit(annotator, new seed.annotation.core.Submission(item.get().id(), order,
                        List.of(), false, List.of(), null));
                submitted++;
            }
            assertTrue(submitted >= 4, "new rankings: " + submitted);
            // accepted is not yet durable: the re-train counts what PostgreSQL holds, so wait for the ingester first
            host.annotation().ingestUntilCaughtUp(Duration.ofSeconds(60));
            Execution retrained = engine.awaitTerminated(engine.launch("seed.retrain",
                    Map.of("min_new_rankings", submitted), "schedule-equivalent").getId(), Duration.ofMinutes(6));
            String id = retrained.getId();
            assertEquals(State.Type.SUCCESS, retrained.getState().getCurrent(), () -> describe(engine, id));
            Execution rl = childOf(engine, id, "rlhf");
            assertEquals(inputs.get("prompts"), rl.getInputs().get("prompts"), "prompts from the chain run's KV entry");
            assertEquals(inputs.get("held_out_prompts"), rl.getInputs().get("held_out_prompts"));
            assertEquals(inputs.get("sft_data"), rl.getInputs().get("ptx_data"));
            Execution rm = childOf(engine, id, "reward");
            assertEquals(((Number) inputs.get("reward_steps")).intValue(), ((Number) rm.getInputs().get("steps")).intValue());
            Object policy = retrained.getOutputs().get("policy");
            assertTrue(policy != null && Files.isDirectory(Path.of(policy.toString())), retrained.getOutputs().toString());
            assertTrue(((Number) retrained.getOutputs().get("new_rankings")).intValue() >= submitted);
        }
    }

    static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    static List<String> succeeded(Execution e) {
        return e.getTaskRunList().stream().filter(t -> t.getState().getCurrent() == State.Type.SUCCESS)
                .map(TaskRun::getTaskId).toList();
    }

    static long attempts(Execution e, String taskId) {
        return e.getTaskRunList().stream().filter(t -> t.getTaskId().equals(taskId))
                .mapToLong(t -> t.getAttempts() == null ? 0 : t.getAttempts().size()).sum();
    }

    static Execution childOf(SeedEngine engine, String parent, String taskId) {
        return engine.children(parent).stream().filter(c -> c.getFlowId().equals(taskId)).reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("no child execution for " + taskId));
    }

    static String describe(SeedEngine engine, String id) {
        StringBuilder sb = new StringBuilder();
        Execution e = engine.require(id);
        sb.append(e.getState().getCurrent()).append('\n');
        e.getTaskRunList().forEach(t -> sb.append("  ").append(t.getTaskId()).append(' ')
                .append(t.getState().getCurrent()).append('\n'));
        engine.children(id).forEach(c -> {
            sb.append(" child ").append(c.getFlowId()).append(' ').append(c.getState().getCurrent()).append('\n');
            engine.logs(c.getId()).stream().filter(l -> l.getLevel().toInt() >= org.slf4j.event.Level.WARN.toInt())
                    .forEach(l -> sb.append("    ").append(l.getMessage()).append('\n'));
        });
        return sb.toString();
    }
}
