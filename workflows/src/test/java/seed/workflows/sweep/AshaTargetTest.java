package seed.workflows.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.pretrain.PretrainRequest;
import seed.stages.pretrain.Pretraining;
import seed.stages.train.TrainResult;
import seed.stages.train.TrainSettings;
import seed.workflows.demo.DemoData;

/**
 * Issue 21's target, in-process with real training: 27 pretraining settings (learning rate x width x depth) at
 * reduction factor 3 find a setting within 1% of the full grid's best validation loss using at most 35% of the grid's
 * optimizer steps; the grid is trained once here at a tiny size. The sweep's rungs are the library code the
 * {@code SweepRung} task calls ({@link SweepState}, {@link SuccessiveHalving}, {@link TrialRuns}); each trial run
 * stops at its rung and the promoted ones continue from their checkpoints in new folders, as the flow's subflows do.
 * Exact resume is checked twice: the steps each run computed (from its own metrics log) add up to the plan's, and the
 * sweep's best trial ends with the same validation loss as the same setting trained in one go in the grid.
 */
class AshaTargetTest {

    private static final String SPACE = """
            {"method": "grid", "params": {"learning_rate": {"log_uniform": [0.0003, 0.03], "points": 3},
             "d_model": [16, 32, 48], "layers": [1, 2, 3]}}""";
    /** The sweep runs with its defaults (min_steps 0): the first rung ends with pretraining's 30-step warm-up, so the
     * rungs are 30/90/270 (a first rung at 10 steps, still warming up, missed the grid's best by 1.5%: measured). */
    private static final int BUDGET = 270, CONTEXT = 32, BATCH = 8, HEADS = 2;
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @Test
    void twentySevenSettingsAtFactorThreeComeWithinOnePercentOfTheGridOnAThirdOfItsSteps(@TempDir Path dir)
            throws Exception {
        Path corpus = DemoData.write(dir.resolve("data"), 3, 10, 0.5, 8).corpus();
        SweepState sweep = SweepState.start("pretrain", "val_loss", false, SearchSpace.parse(SPACE), 3, BUDGET, 0);
        assertEquals(List.of(30, 90, 270), sweep.plan().rungs());
        assertEquals(27, sweep.configs().size());
        for (int k = 0; k < sweep.plan().rungs().size(); k++) {
            List<SweepState.Run> runs = new ArrayList<>();
            for (SweepState.Pending p : sweep.next(k)) {
                Path runDir = dir.resolve("sweep").resolve("trial-" + p.trial() + "-rung-" + k);
                TrainResult t = train(corpus, runDir, p.settings(), p.resumeFrom() == null ? null : Path.of(p.resumeFrom()),
                        p.stopAt());
                runs.add(TrialRuns.read(p.trial(), k, t.valLoss(), t.checkpoint()));
            }
            sweep = sweep.with(runs);
            System.out.printf(Locale.ROOT, "sweep rung %d: %d trial runs to step %d%n", k, runs.size(),
                    sweep.plan().rungs().get(k));
        }
        SweepReport.write(sweep, dir.resolve("report"));
        SweepState.Run best = sweep.best().orElseThrow();

        double gridBest = Double.POSITIVE_INFINITY;
        double gridOfSweepBest = Double.NaN;
        int gridBestSetting = -1;
        for (int i = 0; i < sweep.configs().size(); i++) {
            TrainResult t = train(corpus, dir.resolve("grid").resolve("setting-" + i), sweep.configs().get(i), null, 0);
            if (t.valLoss() < gridBest) {
                gridBest = t.valLoss();
                gridBestSetting = i;
            }
            if (i == best.trial()) {
                gridOfSweepBest = t.valLoss();
            }
        }
        long gridSteps = 27L * BUDGET;
        double gap = (best.metric() - gridBest) / gridBest;
        double fraction = (double) sweep.computedSteps() / gridSteps;
        System.out.printf(Locale.ROOT, "ASHA target: best %s val_loss %.4f, grid best %s %.4f (gap %.2f%%); steps %d of "
                + "the grid's %d (%.1f%%); the same setting in one go: %.6f vs %.6f after resume%n",
                sweep.configs().get(best.trial()), best.metric(), sweep.configs().get(gridBestSetting), gridBest, 100 * gap, sweep.computedSteps(), gridSteps,
                100 * fraction, gridOfSweepBest, best.metric());
        assertEquals(sweep.plan().steps(List.of(27, 9, 3)), sweep.computedSteps(),
                "every promoted trial continued from its checkpoint: no step computed twice");
        assertEquals(gridOfSweepBest, best.metric(), 1e-4, "stop + resume trains exactly what one run does");
        assertTrue(gap <= 0.01, "within 1% of the grid's best: gap " + gap);
        assertTrue(fraction <= 0.35, "at most 35% of the grid's steps: " + fraction);
    }

    /** One pretraining run the way the Pretrain task runs it: a schedule over the budget, stopped at {@code stopAt}. */
    private static TrainResult train(Path corpus, Path out, Map<String, Object> s, Path resumeFrom, int stopAt)
            throws Exception {
        TrainSettings d = TrainSettings.defaults();
        TrainSettings settings = new TrainSettings(BUDGET, BATCH, ((Number) s.get("learning_rate")).floatValue(),
                d.minLearningRate(), d.warmupSteps(), d.weightDecay(), d.clipNorm(), d.evalEvery(), d.checkpointEvery(),
                d.keepCheckpoints(), 1337, d.logEveryMs());
        return Pretraining.run(new PretrainRequest(corpus, out, null, CONTEXT, ((Number) s.get("layers")).intValue(),
                ((Number) s.get("d_model")).intValue(), HEADS, settings, resumeFrom, stopAt >= BUDGET ? 0 : stopAt),
                QUIET);
    }
}
