package seed.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.rlhf.Gradients;
import seed.stages.tokenizer.ByteTokenizer;

/**
 * The grouped forward (each prompt's prefix computed once, K responses on top of its cached keys and values) gives the
 * per-sequence scores, ranking loss and gradients: groups of different sizes, prompt lengths and response lengths,
 * a group with nothing in common (sequences cut from the left), and a random, non-zero reward head; for a GPT-2 and a
 * Llama-family backbone, and a Llama backbone with LoRA adapters (only adapters and head train).
 */
class SharedPrefixTest {

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"gpt2", "llama", "llama-lora"})
    void groupedLossAndGradientsEqualThePerSequenceOnes(String variant) {
        ByteTokenizer tokenizer = new ByteTokenizer();
        GptConfig config = variant.equals("gpt2") ? new GptConfig(tokenizer.vocabSize(), 48, 2, 32, 4)
                : GptConfig.llama(tokenizer.vocabSize(), 48, 2, 32, 4, 2, 0);
        List<int[]> seqs = new ArrayList<>();
        int[] sizes = {3, 2, 4, 2};
        String[] prompts = {"What is 2 plus 2?", "Hi", "Say something nice about the weather today.", ""};
        String[][] responses = {{"4.", "Four, I think!", "5"}, {"Hello there", "Go away"},
                {"Sunny!", "It is lovely.", "Rain.", "Nice"}, {"a", "bb"}};
        try (Gpt backbone = Gpt.initialize(config, 5)) {
            if (variant.endsWith("lora")) { // adapters with a non-zero B, so the adapter path matters
                backbone.addAdapters(new seed.stages.model.LoraSettings(2, 4, 0, List.of("q", "v", "up"), false), 1);
                backbone.parameters().forEach((name, w) -> {
                    if (name.contains("lora_B")) {
                        w.set(w.getManager().randomNormal(w.getShape()).mul(0.2f).toFloatArray());
                    }
                });
            }
            RewardModel model = new RewardModel(backbone, tokenizer,
                    new seed.stages.checkpoint.HostTensor(new long[] {1, 32}, randomHead(32)),
                    new seed.stages.checkpoint.HostTensor(new long[] {1}, new float[] {0.1f}));
            for (int g = 0; g < sizes.length; g++) {
                for (String r : responses[g]) {
                    seqs.add(model.encode(prompts[g], r));
                }
            }
            // a group whose sequences were cut from the left (no common prefix at all)
            seqs.set(seqs.size() - 2, new int[] {7, 8, 9, 10});
            seqs.set(seqs.size() - 1, new int[] {11, 8, 9});
            List<int[]> pairs = new ArrayList<>();
            for (int g = 0, start = 0; g < sizes.length; start += sizes[g], g++) {
                for (int a = 0; a < sizes[g]; a++) {
                    for (int b = a + 1; b < sizes[g]; b++) {
                        pairs.add(new int[] {start + a, start + b});
                    }
                }
            }
            float[][] naive = lossAndGradient(model, seqs, pairs, null);
            float[][] grouped = lossAndGradient(model, seqs, pairs, sizes);
            assertArrayEquals(naive[0], grouped[0], 1e-5f, "scores");
            assertEquals(naive[1][0], grouped[1][0], 1e-5f, "loss");
            assertArrayEquals(naive[2], grouped[2], 1e-5f, "gradient of every parameter");
            model.close();
        }
    }

    /** {scores, {loss}, concatenated gradients of all parameters} with the naive (sizes null) or grouped forward. */
    private static float[][] lossAndGradient(RewardModel model, List<int[]> seqs, List<int[]> pairs, int[] sizes) {
        Map<String, NDArray> params = model.parameters();
        Gradients.zero(params.values());
        try (NDManager m = NDManager.newBaseManager();
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray scores = sizes == null ? model.rawScores(m, seqs) : model.groupedRawScores(m, seqs, sizes);
            NDArray loss = RewardModelTrainer.softplusNeg(
                    RewardModelTrainer.pairDifferences(m, scores, pairs, seqs.size())).mean();
            gc.backward(loss);
            List<Float> grads = new ArrayList<>();
            for (NDArray p : params.values()) {
                if (!p.hasGradient()) {
                    continue; // a frozen base under LoRA
                }
                for (float v : p.getGradient().toFloatArray()) {
                    grads.add(v);
                }
            }
            float[] g = new float[grads.size()];
            for (int i = 0; i < g.length; i++) {
                g[i] = grads.get(i);
            }
            return new float[][] {scores.toFloatArray(), {loss.getFloat()}, g};
        }
    }

    private static float[] randomHead(int d) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        float[] w = new float[d];
        for (int i = 0; i < d; i++) {
            w[i] = (float) random.nextGaussian();
        }
        return w;
    }
}
