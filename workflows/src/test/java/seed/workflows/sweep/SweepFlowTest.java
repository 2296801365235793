package seed.workflows.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import java.io.OutputStream;
import java.io.PrintStream;
import seed.reward.data.RankingsFile;
import seed.reward.demo.SyntheticPreferences;
import seed.stages.pretrain.PretrainRequest;
import seed.stages.pretrain.Pretraining;
import seed.stages.train.TrainSettings;
import seed.workflows.demo.DemoData;
import seed.workflows.engine.FlowInputs;
import seed.workflows.engine.SeedEngine;
import seed.workflows.engine.SeedHost;

/**
 * The {@code seed.sweep} flow in the embedded engine on a small space (3 learning rates, reduction 3, min_steps 10:
 * rungs at 10 and 30 steps, the first inside the warm-up only because the test is tiny): every trial run is a subflow run of {@code seed.pretrain}, the promoted trial continues from its rung-0
 * checkpoint (its run computes only steps 11..30, read from its own metrics log), and the report, trials.csv and the
 * best setting come out. The 27-setting target is checked in-process by {@link AshaTargetTest}.
 */
class SweepFlowTest {

    @Test
    void aSmallSweepRunsEachTrialAsAStageSubflowAndContinuesThePromotedOne(@TempDir Path dir) throws Exception {
        DemoData.DemoFiles data = DemoData.write(dir.resolve("data"), 3, 50, 0.5, 8);
        Map<String, Object> inputs = Map.of("stage", "pretrain",
                "space", "{\"params\": {\"learning_rate\": [0.0003, 0.003, 0.01]}}",
                "base", "{\"corpus\": \"" + data.corpus() + "\", \"layers\": 1, \"d_model\": 32, \"heads\": 2, "
                        + "\"context\": 32, \"batch\": 8}",
                "budget", 30, "min_steps", 10, "concurrency", 2);
        Map<String, Object> out = sweep(dir, inputs);
        // 3 trials x 10 steps, then the best continues from step 10 to 30: 50 steps computed, grid 90
        assertEquals(50, ((Number) out.get("sweep_steps")).intValue(), out.toString());
        assertEquals(90, ((Number) out.get("grid_steps")).intValue(), out.toString());
        @SuppressWarnings("unchecked")
        Map<String, Object> best = (Map<String, Object>) out.get("best");
        assertTrue(best.containsKey("learning_rate") && best.containsKey("val_loss"), best.toString());
        List<String> csv = Files.readAllLines(Path.of((String) out.get("trials_csv")));
        assertTrue(csv.getFirst().startsWith("trial,rung,settings,steps,metric,seconds") && csv.getFirst()
                .contains("params,tokens,loss"), csv.getFirst());
        assertEquals(1 + 3 + 1, csv.size(), String.join("\n", csv));
        assertTrue(csv.getLast().startsWith(best.get("trial") + ",1,"), String.join("\n", csv));
        String report = Files.readString(Path.of((String) out.get("report")));
        assertEquals(3, report.split("<svg").length, "two charts in the report");
        // the promoted run continued the rung-0 checkpoint in a new store folder (resume_from in its address)
        SweepState state = SweepState.read(Path.of((String) out.get("report")).resolveSibling("state.json"))
                .orElseThrow();
        SweepState.Run last = state.rung(1).getFirst();
        SweepState.Run first = state.rung(0).stream().filter(r -> r.trial() == last.trial()).findFirst().orElseThrow();
        assertEquals(30, last.steps());
        assertEquals(20, last.computed(), "the promoted trial recomputed none of its first 10 steps");
        assertTrue(!Path.of(last.checkpoint()).getParent().equals(Path.of(first.checkpoint()).getParent()));
    }

    @Test
    void anSftSweepTunesTheLearningRateOfFineTuningFromOneBase(@TempDir Path dir) throws Exception {
        DemoData.DemoFiles data = DemoData.write(dir.resolve("data"), 3, 120, 0.5, 8);
        Path base = tinyBase(dir.resolve("base"), data);
        Map<String, Object> inputs = Map.of("stage", "sft",
                "space", "{\"params\": {\"learning_rate\": [0.0002, 0.003]}}",
                "base", "{\"base\": \"" + base + "\", \"data\": \"" + data.sft() + "\", \"batch\": 8, "
                        + "\"truncate_response\": \"right\"}",
                "budget", 20, "min_steps", 10, "reduction", 2);
        Map<String, Object> out = sweep(dir, inputs);
        // rungs at 10 and 20 steps: 2 x 10 + 1 x 10 = 30 of the grid's 40
        assertEquals(30, ((Number) out.get("sweep_steps")).intValue(), out.toString());
        assertEquals(40, ((Number) out.get("grid_steps")).intValue(), out.toString());
        @SuppressWarnings("unchecked")
        Map<String, Object> best = (Map<String, Object>) out.get("best");
        assertTrue(((Number) best.get("val_loss")).doubleValue() > 0, best.toString());
        assertTrue(((String) best.get("checkpoint")).contains("/runs/sft-"), best.toString());
    }

    @Test
    void rewardAndDpoSweepsTrainEveryTrialToTheBudgetAndMaximizeTheirAccuracy(@TempDir Path dir) throws Exception {
        Path sft = tinyBase(dir.resolve("base"), DemoData.write(dir.resolve("data"), 3, 120, 0.5, 8));
        Path rankings = dir.resolve("snapshot.jsonl");
        RankingsFile.write(rankings, SyntheticPreferences.generate(
                new SyntheticPreferences.Settings(80, 3, 4, 0.5, 0.1, 0.1, 0.0, 7)));
        Map<String, Object> reward = sweep(dir.resolve("reward"), Map.of("stage", "reward",
                "space", "{\"params\": {\"learning_rate\": [0.0003, 0.003]}}",
                "base", "{\"base\": \"" + sft + "\", \"rankings\": \"" + rankings + "\", \"truncate_response\": "
                        + "\"right\", \"eval_every\": 3}", "budget", 6));
        // no exact resume: one rung, both trials trained the whole budget (a plain grid)
        assertEquals(12, ((Number) reward.get("grid_steps")).intValue(), reward.toString());
        assertEquals(12, ((Number) reward.get("sweep_steps")).intValue(), reward.toString());
        @SuppressWarnings("unchecked")
        Map<String, Object> rm = (Map<String, Object>) reward.get("best");
        assertTrue(rm.containsKey("val_accuracy") && rm.containsKey("learning_rate"), rm.toString());
        SweepState rs = SweepState.read(Path.of((String) reward.get("report")).resolveSibling("state.json"))
                .orElseThrow();
        assertTrue(rs.maximize(), "val_accuracy: larger is better");
        assertEquals(rs.rung(0).stream().mapToDouble(SweepState.Run::metric).max().orElseThrow(),
                ((Number) rm.get("val_accuracy")).doubleValue(), 1e-12, "the best is the highest accuracy");

        Map<String, Object> dpo = sweep(dir.resolve("dpo"), Map.of("stage", "dpo",
                "space", "{\"params\": {\"beta\": [0.1, 0.5]}}",
                "base", "{\"policy\": \"" + sft + "\", \"rankings\": \"" + rankings + "\", \"truncate_response\": "
                        + "\"right\"}", "budget", 4));
        assertEquals(8, ((Number) dpo.get("grid_steps")).intValue(), dpo.toString());
        @SuppressWarnings("unchecked")
        Map<String, Object> best = (Map<String, Object>) dpo.get("best");
        assertTrue(best.containsKey("val_rewards_accuracy") && best.containsKey("beta"), best.toString());
        assertTrue(Files.isDirectory(Path.of((String) best.get("checkpoint"))), best.toString());
    }

    /** A 20-step pretrained model (context 96) that SFT, the reward model and DPO can start from. */
    private static Path tinyBase(Path dir, DemoData.DemoFiles data) throws Exception {
        TrainSettings d = TrainSettings.defaults();
        Pretraining.run(new PretrainRequest(data.corpus(), dir, null, 96, 1, 32, 2, new TrainSettings(20, 8, 3e-3f,
                d.minLearningRate(), 5, d.weightDecay(), d.clipNorm(), 20, 20, 1, 1, 5000), null, 0),
                new PrintStream(OutputStream.nullOutputStream()));
        return dir;
    }

    /** Runs seed.sweep in an embedded engine and returns its outputs once it ended SUCCESS. */
    private static Map<String, Object> sweep(Path dir, Map<String, Object> inputs) throws Exception {
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir.resolve("work"), 0, false, 2), Map.of())) {
            SeedEngine engine = host.engine();
            Execution done = engine.awaitTerminated(engine.launch("seed.sweep", inputs, "alice").getId(),
                    Duration.ofMinutes(10));
            assertEquals(State.Type.SUCCESS, done.getState().getCurrent(), () -> done.getState().toString());
            return done.getOutputs();
        }
    }

    @Test
    void theFlowMapsEveryInputOfTheTunableStageFlows() throws Exception {
        // every trial (trial_0 .. trial_4) is a Subflow task; the inputs they pass are the flow's Subflow pluginDefaults
        com.fasterxml.jackson.databind.JsonNode flow = new com.fasterxml.jackson.databind.ObjectMapper(
                new com.fasterxml.jackson.dataformat.yaml.YAMLFactory()).readTree(
                SweepFlowTest.class.getResourceAsStream("/flows/seed.sweep.yaml"));
        com.fasterxml.jackson.databind.JsonNode passed = null;
        for (com.fasterxml.jackson.databind.JsonNode d : flow.path("pluginDefaults")) {
            if (d.path("type").asText().equals("io.kestra.plugin.core.flow.Subflow")) {
                passed = d.path("values").path("inputs");
            }
        }
        assertTrue(passed != null && passed.isObject(), "the flow's Subflow pluginDefaults carry the trial inputs");
        for (SweepStage stage : SweepStage.values()) {
            for (FlowInputs.Input in : FlowInputs.of(stage.name()).inputs()) {
                assertTrue(("{{ fromJson(taskrun.value).inputs." + in.id() + " ?? '' }}").equals(
                        passed.path(in.id()).asText()), stage + " input " + in.id() + " is not passed to trial subflows");
            }
        }
        String yaml = flow.toString();
        for (int k = 0; k < 5; k++) {
            // namespace and flowId stay on the task: Kestra's flow topology reads them before defaults apply
            assertTrue(yaml.contains("{\"id\":\"trial_" + k + "\",\"type\":\"io.kestra.plugin.core.flow.Subflow\","
                    + "\"namespace\":\"seed\",\"flowId\":\"{{ inputs.stage }}\"}"),
                    "trial_" + k + " names its subflow and takes every other setting from the pluginDefaults: " + yaml);
        }
    }
}
