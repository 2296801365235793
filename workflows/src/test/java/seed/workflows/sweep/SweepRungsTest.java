package seed.workflows.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sweep task's library side without an engine: rung 0's trial inputs are the stage flow's complete input map,
 * bad spaces and oversized plans are refused before any trial runs, and trials whose subflow left no result are
 * recorded as failed and never promoted.
 */
class SweepRungsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static SweepRungs.Request request(String space, int budget, int concurrency, int maxRungs) throws Exception {
        return new SweepRungs.Request("pretrain", SearchSpace.parse(space), JSON.readTree("{\"corpus\": \"/c.txt\"}"),
                budget, 0, 3, "val_loss", false, concurrency, maxRungs);
    }

    @Test
    void rungZeroHandsEveryTrialTheStageFlowsCompleteInputsInWaves(@TempDir Path dir) throws Exception {
        SweepRungs.Decision d = SweepRungs.decide(request("{\"params\": {\"learning_rate\": [0.001, 0.003, 0.01], "
                + "\"layers\": [1, 2, 3]}}", 90, 4, 5), 0, JSON.readTree("{}"), dir);
        assertEquals(9, d.trials());
        assertEquals(30, d.stopAt(), "9 settings at factor 3, budget 90: 10/30/90 would stop inside pretraining's "
                + "30-step warm-up, so the default rungs are 30, 90");
        assertEquals(3, d.waves().size(), "9 trials in waves of at most 4");
        @SuppressWarnings("unchecked")
        Map<String, Object> in = (Map<String, Object>) d.waves().getFirst().getFirst().get("inputs");
        assertEquals("/c.txt", in.get("corpus"));
        assertEquals(90, in.get("steps"));
        assertEquals(30, in.get("stop_at"));
        assertEquals("", in.get("resume_from"));
        assertEquals(96, ((Number) in.get("d_model")).intValue(), "an untuned input keeps the flow's default");
        assertTrue(Files.exists(dir.resolve("state.json")) && Files.exists(dir.resolve("report.html")));
    }

    @Test
    void trialsWithoutAResultAreFailedAndNeverPromoted(@TempDir Path dir) throws Exception {
        SweepRungs.Request r = request("{\"params\": {\"learning_rate\": [0.001, 0.003, 0.01]}}", 30, 1, 5);
        SweepRungs.decide(r, 0, JSON.readTree("{}"), dir);
        SweepRungs.Decision d = SweepRungs.decide(r, 1, JSON.readTree("{\"trial_0\": {}}"), dir);
        assertEquals(0, d.trials(), "no trial of rung 0 succeeded: nobody continues");
        SweepState s = SweepState.read(dir.resolve("state.json")).orElseThrow();
        assertEquals(3, s.rung(0).size());
        assertTrue(s.rung(0).stream().allMatch(x -> Double.isNaN(x.metric())));
        assertTrue(s.best().isEmpty());
    }

    @Test
    void theBestTrialToTheBudgetIsItsOwnLastRunOrAContinuationOfItsCheckpoint() {
        SweepState s = SweepState.start("pretrain", "val_loss", false, SearchSpace.parse(
                "{\"params\": {\"learning_rate\": [0.001, 0.003, 0.01]}}"), 3, 90, 30);
        assertEquals(java.util.List.of(30, 90), s.plan().rungs());
        s = s.with(java.util.List.of(run(0, 0, 30, 2.0, "/c0"), run(1, 0, 30, 1.0, "/c1"), run(2, 0, 30, 3.0, "/c2")));
        SweepState.Pending early = SweepRungs.toBudget(s, s.best().orElseThrow());
        assertEquals(1, early.trial());
        assertEquals("/c1", early.resumeFrom(), "stopped at 30: continue its checkpoint to the budget");
        assertEquals(90, early.stopAt());
        s = s.with(java.util.List.of(run(1, 1, 90, 0.9, "/c1-90")));
        SweepState.Pending full = SweepRungs.toBudget(s, s.best().orElseThrow());
        assertEquals("/c1", full.resumeFrom(), "reached the budget: exactly its last run (the store reuses it)");
        assertEquals(90, full.steps());
    }

    private static SweepState.Run run(int trial, int rung, int steps, double metric, String checkpoint) {
        return new SweepState.Run(trial, rung, steps, metric, checkpoint, steps, 0, 0, 0, java.util.List.of());
    }

    @Test
    void anUnknownSettingOrAPlanLargerThanTheFlowIsRefusedBeforeAnyTrialRuns(@TempDir Path dir) {
        String unknown = assertThrows(IllegalArgumentException.class, () -> SweepRungs.decide(request(
                "{\"params\": {\"learning_rat\": [0.001, 0.01]}}", 30, 1, 5), 0, JSON.readTree("{}"), dir))
                .getMessage();
        assertTrue(unknown.contains("learning_rat") && unknown.contains("learning_rate"), unknown);
        String big = assertThrows(IllegalArgumentException.class, () -> SweepRungs.decide(request(
                "{\"params\": {\"learning_rate\": {\"log_uniform\": [0.0001, 0.01], \"points\": 27}}}", 270, 1, 2), 0,
                JSON.readTree("{}"), dir.resolve("big"))).getMessage();
        assertTrue(big.contains("3 rungs") && big.contains("room for 2"), big);
    }
}
