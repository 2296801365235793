package seed.reward;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.reward.data.PreferenceData;
import seed.reward.data.PromptGroup;
import seed.reward.data.Ranking;
import seed.reward.data.RankingsFile;
import seed.reward.demo.SyntheticPreferences;
import seed.stages.checkpoint.HostTensor;
import seed.stages.checkpoint.SafeTensors;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Not part of the suite (no *Test suffix): the reward-model investigation of issue 10, run by hand with
 * {@code -Dtest=RewardExperiment} and {@code -Dx.*} properties (shape, SFT steps, learning rate x steps, seeds of the
 * split, patience, {@code x.readout=lp} for {@link RewardModel.Readout#END_LOGPROB}); run it with
 * {@code -pl reward-model -am} so that the stages code is this worktree's, not whatever another build installed.
 * Besides the trainer's own held-out accuracy (~10 prompts, ~230 pairs) it measures a larger evaluation: thousands of
 * fresh rankings (another generator seed) of the same held-out prompts, so that candidate sampling noise stops hiding
 * differences; and it prints a checksum of the SFT and reward weights, so that two processes can be compared bit for
 * bit.
 */
class RewardExperiment {

    @TempDir
    Path dir;

    @Test
    void run() throws Exception {
        int sftSteps = Integer.getInteger("x.sftSteps", 300);
        seed.stages.model.GptConfig shape = "demo".equals(System.getProperty("x.shape")) ? TinySft.DEMO_SHAPE : TinySft.SHAPE;
        long t0 = System.nanoTime();
        Path sft = TinySft.train(dir.resolve("sft"), 0.3, sftSteps, TinySft.MAX_OPERAND, shape);
        System.out.printf("EXP sft shape=%s steps=%d checksum=%s %.0fs%n", shape.describe(), sftSteps,
                checksum(latestModel(sft)), (System.nanoTime() - t0) / 1e9);
        Path rankings = dir.resolve("r.jsonl");
        double wrong = Double.parseDouble(System.getProperty("x.wrong", "0.4"));
        RankingsFile.write(rankings, SyntheticPreferences.generate(new SyntheticPreferences.Settings(
                Integer.getInteger("x.count", 400), 4, TinySft.MAX_OPERAND, 0.5, wrong, 0.1, 0.0, 7, true)));
        List<Ranking> fresh = SyntheticPreferences.generate(new SyntheticPreferences.Settings(
                Integer.getInteger("x.bigEval", 4000), 4, TinySft.MAX_OPERAND, 0.5, wrong, 0.1, 0.0, 1234, true));
        double heldOut = Double.parseDouble(System.getProperty("x.heldOut", "0.1"));
        for (String seedText : System.getProperty("x.seeds", "1").split(",")) {
            long splitSeed = Long.parseLong(seedText);
            PreferenceData data = PreferenceData.split(RankingsFile.read(rankings), heldOut, splitSeed);
            Set<String> heldPrompts = data.heldOut().stream().map(PromptGroup::prompt).collect(Collectors.toSet());
            List<PromptGroup> big = PreferenceData.mergeByPrompt(fresh.stream()
                    .filter(r -> heldPrompts.contains(r.prompt())).toList());
            int run = 0;
            for (String cfg : System.getProperty("x.cfg", "1e-3:200").split(",")) {
                run++;
                String[] f = cfg.split(":");
                float lr = Float.parseFloat(f[0]);
                int steps = Integer.parseInt(f[1]);
                RewardSettings d = RewardSettings.defaults(sft, rankings, dir.resolve("rm-" + splitSeed + "-" + run + "-" + cfg.replace(':', '_')));
                RewardSettings s = new RewardSettings(d.base(), d.rankings(), d.out(), steps,
                        Integer.getInteger("x.groups", d.rankingsPerBatch()), lr, lr / 10, d.warmupSteps(), d.weightDecay(),
                        d.clipNorm(), heldOut, Integer.getInteger("x.evalEvery", Math.max(25, steps / 8)), steps,
                        splitSeed, 60_000, Integer.getInteger("x.patience", 0), RlhfEndToEndTest.CUT,
                        "lp".equals(System.getProperty("x.readout")) ? RewardModel.Readout.END_LOGPROB : RewardModel.Readout.END);
                long t1 = System.nanoTime();
                RewardResult r = RewardModelTrainer.train(s, RlhfEndToEndTest.QUIET, 0);
                double seconds = (System.nanoTime() - t1) / 1e9;
                StringBuilder curve = new StringBuilder();
                for (var rec : seed.stages.metrics.MetricsLog.read(r.metrics())) {
                    if (rec.containsKey("val_accuracy")) {
                        curve.append(String.format(" %s:%.3f/%.3f", rec.get("step"), ((Number) rec.get("val_accuracy")).doubleValue(),
                                ((Number) rec.get("val_loss")).doubleValue()));
                    }
                }
                PairAccuracy accuracy;
                try (RewardModel model = RewardModelFiles.load(r.modelDir())) {
                    accuracy = PairAccuracy.of(model, big);
                }
                System.out.printf("EXP seed=%d cfg=%s val_acc=%.4f val_loss=%.4f big_acc=%.4f (%d pairs, %d prompts) "
                                + "train_acc=%.4f steps=%d rm=%s %.0fs%n", splitSeed, cfg, r.valAccuracy(), r.valLoss(),
                        accuracy.accuracy(), accuracy.pairs(), big.size(), r.trainAccuracy(), r.steps(),
                        checksum(r.modelDir().resolve("model.safetensors")), seconds);
                System.out.println("EXP   curve" + curve);
                accuracy.print("EXP   ");
            }
        }
    }

    /** The newest model.safetensors under a run folder. */
    static Path latestModel(Path runDir) throws Exception {
        try (var files = Files.walk(runDir)) {
            return files.filter(p -> p.getFileName().toString().equals("model.safetensors")).max(Path::compareTo).orElseThrow();
        }
    }

    /** A hash of every weight's float bits, in key order: equal only when the weights are bit-for-bit equal. */
    static String checksum(Path safetensors) throws Exception {
        Map<String, HostTensor> w = new TreeMap<>(SafeTensors.read(safetensors));
        long h = 1;
        for (var e : w.entrySet()) {
            h = 31 * h + e.getKey().hashCode();
            h = 31 * h + Arrays.hashCode(e.getValue().data());
        }
        return Long.toHexString(h);
    }
}
