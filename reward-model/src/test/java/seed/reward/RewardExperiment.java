package seed.reward;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.reward.data.PreferenceData;
import seed.reward.data.PreferencePair;
import seed.reward.data.PromptGroup;
import seed.reward.data.RankingsFile;
import seed.reward.data.SyntheticPreferences;
import seed.stages.rlhf.PoliteCorrectRule;

import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/** Not part of the suite (no *Test suffix): the reward-model investigation of issue 10, run by hand with -Dtest. */
class RewardExperiment {

    @TempDir
    Path dir;

    @Test
    void run() throws Exception {
        int sftSteps = Integer.getInteger("x.sftSteps", 300);
        Path sft = TinySft.train(dir.resolve("sft"), 0.3, sftSteps);
        if (Boolean.getBoolean("x.random")) { // the value of initialising from SFT: the same shape, random weights
            sft = java.nio.file.Files.createDirectories(dir.resolve("random"));
            try (seed.stages.model.Gpt g = seed.stages.model.Gpt.initialize(TinySft.SHAPE, 9)) {
                seed.stages.checkpoint.Checkpoints.writeModel(sft, g, new seed.stages.tokenizer.ByteTokenizer());
            }
        }
        Path rankings = dir.resolve("r.jsonl");
        RankingsFile.write(rankings, SyntheticPreferences.generate(new SyntheticPreferences.Settings(
                Integer.getInteger("x.count", 400), 4, TinySft.MAX_OPERAND, 0.5,
                Double.parseDouble(System.getProperty("x.wrong", "0.4")), 0.1, 0.0, 7, true)));
        for (String cfg : System.getProperty("x.cfg", "1e-3:200").split(",")) {
            String[] f = cfg.split(":");
            float lr = Float.parseFloat(f[0]);
            int steps = Integer.parseInt(f[1]);
            RewardSettings d = RewardSettings.defaults(sft, rankings, dir.resolve("rm-" + cfg.replace(':', '_')));
            RewardSettings s = new RewardSettings(d.base(), d.rankings(), d.out(), steps,
                    Integer.getInteger("x.groups", d.rankingsPerBatch()), lr, lr / 10, d.warmupSteps(), d.weightDecay(),
                    d.clipNorm(), d.heldOutFraction(), Integer.getInteger("x.evalEvery", Math.max(25, steps / 8)), steps,
                    d.seed(), 60_000, Integer.getInteger("x.patience", 0), RlhfEndToEndTest.CUT);
            long t0 = System.nanoTime();
            RewardResult r = RewardModelTrainer.train(s, RlhfEndToEndTest.QUIET, 0);
            System.out.printf("EXP cfg=%s val_acc=%.4f val_loss=%.4f train_acc=%.4f pairs=%d/%d steps=%d %.0fs%n", cfg,
                    r.valAccuracy(), r.valLoss(), r.trainAccuracy(), r.trainPairs(), r.heldOutPairs(), r.steps(),
                    (System.nanoTime() - t0) / 1e9);
            for (var rec : seed.stages.metrics.MetricsLog.read(r.metrics())) {
                if (rec.containsKey("val_accuracy")) {
                    System.out.printf("EXP   step %s val_acc %.4f val_loss %.4f%n", rec.get("step"), rec.get("val_accuracy"), rec.get("val_loss"));
                }
            }
            PreferenceData data = PreferenceData.split(RankingsFile.read(rankings), 0.1, 1);
            Map<String, int[]> byCategory = new TreeMap<>();
            try (RewardModel model = RewardModelFiles.load(r.modelDir())) {
                for (PromptGroup g : data.heldOut()) {
                    float[] sc = model.score(Collections.nCopies(g.responses().size(), g.prompt()), g.responses());
                    for (PreferencePair p : g.pairs()) {
                        String key = PoliteCorrectRule.classify(g.prompt(), g.responses().get(p.better())) + " > "
                                + PoliteCorrectRule.classify(g.prompt(), g.responses().get(p.worse()));
                        int[] c = byCategory.computeIfAbsent(key, k -> new int[2]);
                        c[0] += sc[p.better()] > sc[p.worse()] ? 1 : 0;
                        c[1]++;
                    }
                }
            }
            byCategory.forEach((k, c) -> System.out.printf("EXP   %-32s %d/%d%n", k, c[0], c[1]));
        }
    }
}
