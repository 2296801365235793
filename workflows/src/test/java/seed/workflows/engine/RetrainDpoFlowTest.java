package seed.workflows.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.executions.TaskRun;
import io.kestra.core.models.flows.State;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Iterative DPO in {@code seed.retrain}, in the real embedded Kestra with the in-process Kafka broker, embedded
 * PostgreSQL and the synthetic annotators ranking through the annotation server's HTTP API, at a tiny size. After a
 * {@code seed.three-stage} run with {@code alignment: dpo}: the first re-train sends the chain's policy's candidates to
 * the annotators (nothing of that policy was ranked yet, so nothing trains); the next one trains a DPO round from
 * {@code current_policy} on exactly those items' rankings, writes a new policy, and the new policy writes the next
 * items; the round after that continues from the new policy.
 */
class RetrainDpoFlowTest {

    @Test
    void dpoRoundsContinueFromTheCurrentPolicyOnItsOwnCandidates(@TempDir Path dir) throws Exception {
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir, 0, true, 2), Map.of())) {
            Map<String, Object> inputs = new LinkedHashMap<>(ThreeStageFlowTest.TINY.write(dir.resolve("data"),
                    dir.resolve("report")));
            inputs.put("alignment", "dpo");
            inputs.put("dpo_steps", 4);
            inputs.put("dpo_loss", "plackett-luce");
            SeedEngine engine = host.engine();
            Execution chain = engine.awaitTerminated(engine.launch("seed.three-stage", inputs, "test").getId(),
                    Duration.ofMinutes(15));
            assertEquals(State.Type.SUCCESS, chain.getState().getCurrent(),
                    () -> ThreeStageFlowTest.describe(engine, chain.getId()));
            String chainPolicy = (String) chain.getOutputs().get("policy");

            // round 0: no rankings of the chain's policy exist, so the re-train only sends its candidates out
            Execution first = retrain(engine, 1_000_000);
            assertTrue(engine.children(first.getId()).isEmpty(), "nothing to train on yet, yet a stage ran: "
                    + ThreeStageFlowTest.describe(engine, first.getId()));
            assertTrue(candidatesModel(first).startsWith(chainPolicy), "the next items are the chain policy's candidates: "
                    + candidatesModel(first) + " vs " + chainPolicy);
            List<?> firstItems = (List<?>) task(first, "next_items").getOutputs().get("itemIds");
            assertTrue(firstItems.size() >= 8, firstItems.toString());
            assertTrue(((Number) task(first, "next_rank").getOutputs().get("accepted")).intValue() > 0);
            host.annotation().ingestUntilCaughtUp(Duration.ofSeconds(60));

            // round 1: DPO from current_policy (the chain's) on exactly the rankings of those items
            Execution second = retrain(engine, 1);
            Map<String, Object> snapshot = task(second, "policy_snapshot").getOutputs();
            assertEquals("ITEMS", String.valueOf(snapshot.get("scope")), snapshot.toString());
            assertEquals(firstItems.size(), ((Number) snapshot.get("items")).intValue(), snapshot.toString());
            Execution dpo = ThreeStageFlowTest.childOf(engine, second.getId(), "dpo");
            assertEquals(chainPolicy, dpo.getInputs().get("policy"), "the round starts from current_policy");
            assertEquals(snapshot.get("snapshot"), dpo.getInputs().get("rankings"));
            assertEquals("plackett-luce", dpo.getInputs().get("loss"), "the chain's DPO settings carry over");
            String newPolicy = (String) dpo.getOutputs().get("policy");
            assertTrue(newPolicy != null && Files.isDirectory(Path.of(newPolicy)), dpo.getOutputs().toString());
            assertNotEquals(chainPolicy, newPolicy);
            assertEquals(newPolicy, second.getOutputs().get("policy"));
            // the promote gate bounds DPO's KL by max_kl_dpo (3.0), not RL's 1.0: DPO measured 1.4-2.4 on the demo
            List<?> gates = (List<?>) task(second, "promote").getOutputs().get("gates");
            assertTrue(gates.stream().anyMatch(g -> g.toString().startsWith("kl ") && g.toString().endsWith(
                    "bound 3.0000")), "DPO's KL bound: " + gates);
            List<?> chainGates = (List<?>) task(chain, "promote").getOutputs().get("gates");
            assertTrue(chainGates.stream().anyMatch(g -> g.toString().endsWith("bound 3.0000")), "the chain's "
                    + "promote bounds DPO's KL by max_kl_dpo too: " + chainGates);
            assertTrue(candidatesModel(second).startsWith(newPolicy), "the next items are the new policy's candidates: "
                    + candidatesModel(second) + " vs " + newPolicy);
            List<?> secondItems = (List<?>) task(second, "next_items").getOutputs().get("itemIds");
            assertTrue(secondItems.stream().noneMatch(firstItems::contains), "new items for the next round");
            host.annotation().ingestUntilCaughtUp(Duration.ofSeconds(60));

            // round 2 continues from the new policy
            Execution third = retrain(engine, 1);
            assertEquals(newPolicy, ThreeStageFlowTest.childOf(engine, third.getId(), "dpo").getInputs().get("policy"));
            assertEquals(secondItems.size(), ((Number) task(third, "policy_snapshot").getOutputs().get("items"))
                    .intValue());
        }
    }

    private static Execution retrain(SeedEngine engine, int minNew) throws InterruptedException {
        Execution e = engine.awaitTerminated(engine.launch("seed.retrain", Map.of("min_new_rankings", minNew),
                "schedule-equivalent").getId(), Duration.ofMinutes(10));
        assertEquals(State.Type.SUCCESS, e.getState().getCurrent(), () -> ThreeStageFlowTest.describe(engine, e.getId()));
        return e;
    }

    private static TaskRun task(Execution e, String id) {
        return e.getTaskRunList().stream().filter(t -> t.getTaskId().equals(id)).findFirst()
                .orElseThrow(() -> new AssertionError("no task run " + id + " in " + e.getTaskRunList().stream()
                        .map(TaskRun::getTaskId).toList()));
    }

    /** The model that wrote the round's next candidates, as their store folder records it. */
    private static String candidatesModel(Execution e) throws Exception {
        Path candidates = Path.of((String) task(e, "next_candidates").getOutputs().get("candidates"));
        JsonNode done = ThreeStageFlowTest.JSON.readTree(candidates.resolveSibling("done.json").toFile());
        return done.path("inputs").path("model").path("path").asText();
    }
}
