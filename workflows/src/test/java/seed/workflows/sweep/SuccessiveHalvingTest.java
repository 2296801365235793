package seed.workflows.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The rung logic and the search space, without training: plans, promotions, ties, failures, grids and samples. */
class SuccessiveHalvingTest {

    @Test
    void twentySevenSettingsAtFactorThreeMakeFourRungsEndingAtTheBudget() {
        SuccessiveHalving p = SuccessiveHalving.plan(27, 3, 270, 0);
        assertEquals(List.of(10, 30, 90, 270), p.rungs());
        // 27 x 10 + 9 x 20 + 3 x 60 + 1 x 180 = 810 steps, 11% of the grid's 27 x 270
        assertEquals(810, p.steps(List.of(27, 9, 3, 1)));
        assertEquals(List.of(30, 90, 270), SuccessiveHalving.plan(27, 3, 270, 30).rungs(), "min_steps caps the rungs");
        assertEquals(List.of(5), SuccessiveHalving.plan(2, 3, 5, 0).rungs(), "too few settings to halve: one rung");
        assertEquals(List.of(1, 3), SuccessiveHalving.plan(27, 3, 3, 0).rungs(), "a tiny budget drops rungs");
        assertThrows(IllegalArgumentException.class, () -> SuccessiveHalving.plan(27, 1, 270, 0));
        assertThrows(IllegalArgumentException.class, () -> SuccessiveHalving.plan(0, 3, 270, 0));
    }

    @Test
    void theDefaultFirstRungNeverEndsInsideTheWarmUp() {
        assertEquals(List.of(30, 90, 270), SuccessiveHalving.plan(27, 3, 270, 0, 30).rungs(), "10 is inside a 30-step warm-up");
        assertEquals(List.of(10, 30, 90, 270), SuccessiveHalving.plan(27, 3, 270, 0, 5).rungs(), "a short warm-up keeps 4 rungs");
        assertEquals(List.of(10, 30, 90, 270), SuccessiveHalving.plan(27, 3, 270, 10, 30).rungs(), "an explicit min_steps wins");
        assertEquals(List.of(30), SuccessiveHalving.plan(3, 3, 30, 0, 30).rungs(), "a budget inside the warm-up: one rung");
        assertEquals(List.of(20, 60, 200), SuccessiveHalving.plan(81, 3, 200, 0, 20).rungs());
    }

    @Test
    void stagesWithoutExactResumeAreSweptWithoutHalvingAndMetricsHaveAnExplicitDirection() {
        assertEquals(100, SweepStage.reward.firstRung(0, 100), "reward: one rung at the budget");
        assertEquals(100, SweepStage.dpo.firstRung(100, 100));
        String e = assertThrows(IllegalArgumentException.class, () -> SweepStage.dpo.firstRung(30, 100)).getMessage();
        assertTrue(e.contains("dpo") && e.contains("resume") && e.contains("100"), e);
        assertEquals(0, SweepStage.pretrain.firstRung(0, 100));
        assertEquals(List.of(100), SweepState.start("reward", "val_accuracy", true, SearchSpace.parse(
                "{\"params\": {\"readout\": [\"end\", \"end-logprob\"], \"margin\": [\"LLAMA2\", \"NONE\"]}}"), 3, 100, 0)
                .plan().rungs());
        assertEquals(false, SweepStage.maximize("val_loss", SweepStage.Goal.auto));
        assertEquals(true, SweepStage.maximize("val_rewards_accuracy", SweepStage.Goal.auto));
        assertEquals(true, SweepStage.maximize("kl", SweepStage.Goal.maximize));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SweepStage.maximize("reward_mean",
                SweepStage.Goal.auto)).getMessage().contains("reward_mean"));
    }

    @Test
    void promotionKeepsTheBestThirdBreaksTiesByTrialAndNeverPromotesAFailure() {
        SuccessiveHalving p = new SuccessiveHalving(3, List.of(10, 30));
        List<SuccessiveHalving.Score> rung = new ArrayList<>();
        double[] metrics = {2.5, 1.9, Double.NaN, 1.9, 3.0, 2.0, 1.2, 4.0, Double.NaN};
        for (int i = 0; i < metrics.length; i++) {
            rung.add(new SuccessiveHalving.Score(i, metrics[i]));
        }
        assertEquals(List.of(6, 1, 3), p.promote(rung));
        List<SuccessiveHalving.Score> failed = List.of(new SuccessiveHalving.Score(0, Double.NaN),
                new SuccessiveHalving.Score(1, Double.NaN));
        assertEquals(List.of(), p.promote(failed));
    }

    @Test
    void ashaPromotesAsSoonAsATrialIsInTheTopThirdOfThoseFinished() {
        SuccessiveHalving p = new SuccessiveHalving(3, List.of(10, 30));
        List<SuccessiveHalving.Score> finished = List.of(new SuccessiveHalving.Score(0, 2.0),
                new SuccessiveHalving.Score(1, 1.0));
        assertEquals(List.of(), p.promotable(finished, Set.of()), "two finished: floor(2/3) = 0 may continue");
        List<SuccessiveHalving.Score> three = new ArrayList<>(finished);
        three.add(new SuccessiveHalving.Score(2, 3.0));
        assertEquals(List.of(1), p.promotable(three, Set.of()));
        assertEquals(List.of(), p.promotable(three, Set.of(1)), "a promoted trial is not promoted twice");
    }

    @Test
    void aGridIsEveryCombinationWithLogSpacedRanges() {
        List<Map<String, Object>> s = SearchSpace.parse("""
                {"params": {"learning_rate": {"log_uniform": [0.0001, 0.01]}, "layers": [1, 2],
                 "width": {"uniform": [16, 64], "integer": true, "points": 2}}}""").settings();
        assertEquals(12, s.size());
        assertEquals(Map.of("learning_rate", 1.0e-4, "layers", 1L, "width", 16L), s.getFirst());
        assertEquals(0.001, (Double) s.get(4).get("learning_rate"), 1e-12, "the middle of a log range is its geometric mean");
        assertEquals(64L, s.getLast().get("width"));
    }

    @Test
    void aRandomSpaceDrawsItsSamplesInsideTheRangesReproducibly() {
        String json = """
                {"method": "random", "samples": 50, "seed": 7, "params": {
                 "learning_rate": {"log_uniform": [0.0001, 0.01]}, "arch": {"choices": ["gpt2", "llama"]}}}""";
        List<Map<String, Object>> s = SearchSpace.parse(json).settings();
        assertEquals(50, s.size());
        assertEquals(s, SearchSpace.parse(json).settings());
        assertTrue(s.stream().allMatch(x -> (Double) x.get("learning_rate") >= 1e-4 && (Double) x.get("learning_rate") <= 1e-2));
        assertTrue(s.stream().anyMatch(x -> (Double) x.get("learning_rate") < 1e-3), "log-uniform reaches the low decade");
        assertEquals(Set.of("gpt2", "llama"), Set.copyOf(s.stream().map(x -> x.get("arch")).toList()));
    }

    @Test
    void badSpacesAreRefusedNamingTheProblem() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SearchSpace.parse("{\"params\": {\"lr\": "
                + "{\"log_uniform\": [0, 1]}}}")).getMessage().contains("'lr'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SearchSpace.parse("{\"params\": {}}"))
                .getMessage().contains("params"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SearchSpace.parse("{\"method\": \"random\", "
                + "\"params\": {\"a\": [1]}}")).getMessage().contains("samples"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SearchSpace.parse("not json")).getMessage()
                .contains("JSON"));
    }
}
