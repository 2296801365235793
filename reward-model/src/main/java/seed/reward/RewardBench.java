package seed.reward;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.train.AdamW;

/**
 * The measurement behind {@code seed bench reward}: reward-model training steps on K-wise groups of long-prompt data
 * (random bytes: the speed does not depend on the text), alternating the shared-prefix forward
 * ({@link RewardModel#groupedRawScores}) and the per-sequence one ({@link RewardModel#rawScores(NDManager, List)}),
 * each step forward + backward + AdamW, with the same loss. Returns the median seconds per step of each and the
 * largest loss difference seen between the two on the same batch.
 */
public final class RewardBench {

    /** Median step seconds of both paths, pairs per step, and the largest |loss_shared - loss_naive|. */
    public record Result(double sharedSeconds, double naiveSeconds, int pairsPerStep, double maxLossDifference) {
    }

    private RewardBench() {
    }

    public static Result run(GptConfig config, int groups, int k, int promptTokens, int responseTokens, int steps,
            int warmup, long seed) {
        ByteTokenizer tokenizer = new ByteTokenizer();
        SplittableRandom random = new SplittableRandom(seed);
        double[] shared = new double[steps];
        double[] naive = new double[steps];
        double maxDifference = 0;
        int pairsPerStep = groups * k * (k - 1) / 2;
        try (RewardModel model = RewardModel.withFreshHead(Gpt.initialize(config, seed), tokenizer);
                AdamW adam = AdamW.withWeightDecay(0f)) {
            for (int step = 0; step < warmup + steps; step++) {
                List<int[]> seqs = new ArrayList<>();
                List<int[]> pairs = new ArrayList<>();
                int[] sizes = new int[groups];
                for (int g = 0; g < groups; g++) {
                    String prompt = text(random, promptTokens);
                    sizes[g] = k;
                    for (int r = 0; r < k; r++) {
                        seqs.add(model.encode(prompt, text(random, responseTokens)));
                    }
                    for (int a = 0; a < k; a++) {
                        for (int b = a + 1; b < k; b++) {
                            pairs.add(new int[] {g * k + a, g * k + b});
                        }
                    }
                }
                // alternate which path goes first, so neither always runs on a warmer cache
                boolean sharedFirst = step % 2 == 0;
                double[] first = step(model, adam, seqs, pairs, sharedFirst ? sizes : null);
                double[] second = step(model, adam, seqs, pairs, sharedFirst ? null : sizes);
                double[] s = sharedFirst ? first : second;
                double[] n = sharedFirst ? second : first;
                if (step >= warmup) {
                    shared[step - warmup] = s[0];
                    naive[step - warmup] = n[0];
                }
                // the two steps see the same batch at different weights (one update apart): compare the two paths'
                // losses at the same weights instead (a sanity check; SharedPrefixTest is the 1e-5 test)
                maxDifference = Math.max(maxDifference, lossDifference(model, seqs, pairs, sizes));
            }
        }
        Arrays.sort(shared);
        Arrays.sort(naive);
        return new Result(shared[steps / 2], naive[steps / 2], pairsPerStep, maxDifference);
    }

    /** One training step; {seconds, loss}. sizes null = the per-sequence forward. */
    private static double[] step(RewardModel model, AdamW adam, List<int[]> seqs, List<int[]> pairs, int[] sizes) {
        long started = System.nanoTime();
        float loss;
        try (NDManager m = NDManager.newBaseManager(model.device());
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray scores = sizes == null ? model.rawScores(m, seqs) : model.groupedRawScores(m, seqs, sizes);
            NDArray l = RewardModelTrainer.softplusNeg(RewardModelTrainer.pairDifferences(m, scores, pairs,
                    seqs.size())).mean();
            loss = l.getFloat();
            adam.step(l, model.parameters(), 1e-4f, 1f);
        }
        return new double[] {(System.nanoTime() - started) / 1e9, loss};
    }

    /** |loss_shared - loss_naive| at the current weights, without gradients. */
    private static double lossDifference(RewardModel model, List<int[]> seqs, List<int[]> pairs, int[] sizes) {
        try (seed.stages.model.NoGrad ignored = seed.stages.model.NoGrad.enter();
                NDManager m = NDManager.newBaseManager(model.device())) {
            float a = RewardModelTrainer.softplusNeg(RewardModelTrainer.pairDifferences(m,
                    model.groupedRawScores(m, seqs, sizes), pairs, seqs.size())).mean().getFloat();
            float b = RewardModelTrainer.softplusNeg(RewardModelTrainer.pairDifferences(m,
                    model.rawScores(m, seqs), pairs, seqs.size())).mean().getFloat();
            return Math.abs(a - b);
        }
    }

    private static String text(SplittableRandom random, int length) {
        StringBuilder b = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            b.append((char) ('a' + random.nextInt(26)));
        }
        return b.toString();
    }
}
