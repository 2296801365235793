package seed.stages.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The penalties and min-p do exactly what OpenAI, Hugging Face and vLLM define them to do. */
class SamplerPenaltyTest {

    private static SamplingSettings greedy() {
        return new SamplingSettings(0f, 0, 1f, 8, List.of(), 1, true);
    }

    @Test
    void frequencyAndPresencePenaltiesSubtractPerCountAndOnce() {
        Sampler s = new Sampler(greedy().withPenalties(0.5f, 0.25f, 1f, 0f), 1, new int[] {3});
        float[] logits = {5f, 1f, 0f, 0f};
        assertEquals(0, s.sample(logits)); // token 0 once
        assertEquals(0, s.sample(logits)); // 5 - 0.5 - 0.25 = 4.25 still wins; token 0 twice
        float[] after = s.penalised(logits);
        // counts over the output only: token 3 (prompt) untouched; token 0: 5 - 2 * 0.5 - 0.25
        assertArrayEquals(new float[] {3.75f, 1f, 0f, 0f}, after, 1e-6f);
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokens() {
        Sampler s = new Sampler(greedy().withPenalties(0f, 0f, 2f, 0f), 1, new int[] {1, 2});
        float[] logits = {1f, 4f, -3f, 3f};
        assertArrayEquals(new float[] {1f, 2f, -6f, 3f}, s.penalised(logits), 1e-6f); // prompt tokens 1 and 2
        assertEquals(3, s.sample(logits)); // 4 / 2 = 2 < 3
        assertArrayEquals(new float[] {1f, 2f, -6f, 1.5f}, s.penalised(logits), 1e-6f); // and now the output's 3
    }

    @Test
    void minPKeepsTokensAtLeastThatFractionOfTheMostLikely() {
        // probabilities ~ {0.5, 0.3, 0.2}: min-p 0.5 keeps tokens with p >= 0.25, i.e. 0 and 1, never 2
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};
        SamplingSettings settings = new SamplingSettings(1f, 0, 1f, 8, List.of(), 1, true)
                .withPenalties(0f, 0f, 1f, 0.5f);
        int[] counts = new int[3];
        Sampler s = new Sampler(settings, 5, new int[0]);
        for (int i = 0; i < 2000; i++) {
            counts[s.sample(logits)]++;
        }
        assertEquals(0, counts[2]);
        assertEquals(0.625, counts[0] / 2000.0, 0.04); // 0.5 / (0.5 + 0.3)
    }
}
