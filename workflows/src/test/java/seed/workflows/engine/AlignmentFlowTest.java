package seed.workflows.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.demo.Offensive;

/**
 * {@code seed.three-stage} with {@code alignment: dpo} at a tiny size, judged by a check that is not the demo's and
 * with the flow's generic defaults otherwise (no demo rule, generic guard thresholds): DPO runs instead of RL (no
 * rollouts), the reward model still trains and judges the evaluation (win rate, rewards), and the result table and
 * outputs report the configured check and the unsafe rates, never the demo's rule or answer shapes.
 */
class AlignmentFlowTest {

    @Test
    void dpoAlignmentReportsTheConfiguredChecksAndTheJudgesNumbers(@TempDir Path dir) throws Exception {
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir, 0, true, 2), Map.of())) {
            Map<String, Object> inputs = new LinkedHashMap<>(ThreeStageFlowTest.TINY.write(dir.resolve("data"),
                    dir.resolve("report")));
            // the flow's generic defaults: no demo rule, generic guard thresholds
            inputs.remove("checks");
            inputs.remove("collapse_below");
            inputs.remove("explode_above");
            inputs.put("checks", "[\"sum:regex=\\\\d\"]");
            inputs.put("unsafe_check", Offensive.CHECK);
            inputs.put("alignment", "dpo");
            inputs.put("dpo_steps", 6);
            SeedEngine engine = host.engine();
            Execution run = engine.launch("seed.three-stage", inputs, "test");
            Execution done = engine.awaitTerminated(run.getId(), Duration.ofMinutes(15));
            assertEquals(State.Type.SUCCESS, done.getState().getCurrent(),
                    () -> ThreeStageFlowTest.describe(engine, run.getId()));
            assertTrue(engine.children(run.getId()).stream().noneMatch(c -> c.getFlowId().equals("rlhf")),
                    "RL ran although the alignment is DPO");
            assertTrue(engine.children(run.getId()).stream().anyMatch(c -> c.getFlowId().equals("dpo")), "no DPO run");

            Map<String, Object> out = done.getOutputs();
            assertTrue(Files.isDirectory(Path.of((String) out.get("policy"))), out.toString());
            String table = (String) out.get("table");
            assertTrue(table.contains("greedy_sum_rate_sft") && table.contains("greedy_sum_rate_policy"), table);
            assertFalse(table.contains("rule_rate") || table.contains("format_rate"), table);
            assertTrue(table.contains("unsafe_rate_sft") && table.contains("win_rate") && table.contains("reward_sft"),
                    table);
            assertTrue(table.contains("val_rewards_accuracy"), "the DPO stage's row: " + table);
            double win = ((Number) out.get("win_rate")).doubleValue();
            assertTrue(win >= 0 && win <= 1, out.toString());
            double unsafe = ((Number) out.get("unsafe_rate_sft")).doubleValue();
            assertTrue(unsafe >= 0 && unsafe <= 1, out.toString());
            assertTrue(out.get("kl") instanceof Number, out.toString());
            assertEquals(null, out.get("rule_rate_after"), "no demo metric without the demo check");

            Map<String, Object> evaluate = done.getTaskRunList().stream().filter(t -> t.getTaskId().equals("evaluate"))
                    .findFirst().orElseThrow().getOutputs();
            assertEquals(java.util.Set.of("sum"), ((Map<?, ?>) evaluate.get("checkRatesPolicy")).keySet(),
                    evaluate.toString());
            for (String name : new String[] {"winRateLow", "winRateHigh", "rewardSft", "rewardPolicy",
                    "unsafeRatePolicy"}) {
                assertTrue(evaluate.get(name) instanceof Number, name + " in " + evaluate);
            }
            assertEquals(null, evaluate.get("ruleRatePolicy"), evaluate.toString());
        }
    }
}
