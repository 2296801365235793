package seed.reward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.reward.data.PreferencePair;
import seed.reward.data.PromptGroup;
import seed.reward.data.Ranking;
import seed.reward.data.RankingFormatException;
import seed.reward.data.RankingsFile;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 19: preference strengths reach the reward model's loss as Llama 2's margin, -log sigmoid(d - m), with the
 * "Margin Small" scale (significantly better 1, better 2/3, slightly 1/3, negligibly 0); pinned on a fixed batch to
 * values computed by hand.
 */
class MarginLossTest {

    @TempDir
    Path dir;

    /** A K = 3 snapshot line: 2 significantly better than 0, 0 slightly better than 1. */
    static final String LINE = "{\"prompt\":\"p\",\"responses\":[\"a\",\"b\",\"c\"],\"ranking\":[2,0,1],\"strengths\":[4,2]}";

    @Test
    void strengthsBecomeLlama2MarginsSummedBetweenRanks() {
        PromptGroup g = PromptGroup.expand(RankingsFile.parseLine(LINE, 1, "f"));
        assertEquals(List.of(new PreferencePair(2, 0, 1.0), new PreferencePair(2, 1, 4.0 / 3), new PreferencePair(0, 1, 1.0 / 3)),
                g.pairs());
        // a tie carries strength 0, and the pair across it the margin of the other neighbour
        Ranking tied = RankingsFile.parseLine("{\"prompt\":\"p\",\"responses\":[\"a\",\"b\",\"c\"],\"ranking\":[0,1,2],"
                + "\"ties\":[[1,2]],\"strengths\":[3,0]}", 1, "f");
        assertEquals(List.of(new PreferencePair(0, 1, 2.0 / 3), new PreferencePair(0, 2, 2.0 / 3)), PromptGroup.expand(tied).pairs());
        // TRL's pairwise "margin" column is taken as given; no strengths: margin 0
        assertEquals(0.5, PromptGroup.expand(RankingsFile.parseLine("{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\",\"margin\":0.5}",
                1, "f")).pairs().get(0).margin(), 1e-12);
        assertEquals(0.0, PromptGroup.expand(RankingsFile.parseLine("{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\"}",
                1, "f")).pairs().get(0).margin());
    }

    @Test
    void badStrengthsAreRefusedNamingTheLine() {
        String head = "{\"prompt\":\"p\",\"responses\":[\"a\",\"b\",\"c\"],\"ranking\":[2,0,1],";
        assertTrue(refusal(head + "\"strengths\":[4]}").contains("f:7: field \"strengths\" must be an array of 2"));
        assertTrue(refusal(head + "\"strengths\":[4,5]}").contains("has 5 for pair 2"));
        assertTrue(refusal(head + "\"strengths\":[4,0]}").contains("grades pair 2 (0 vs 1) tie but the pair is not tied"));
        assertTrue(refusal(head + "\"ties\":[[2,0]],\"strengths\":[1,1]}").contains("but the pair is tied"));
        assertTrue(refusal("{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\",\"margin\":-1}").contains("finite number >= 0"));
    }

    @Test
    void marginsSurviveWriteAndRead() throws Exception {
        Path file = dir.resolve("r.jsonl");
        RankingsFile.write(file, List.of(RankingsFile.parseLine(LINE, 1, "f")));
        assertEquals(PromptGroup.expand(RankingsFile.parseLine(LINE, 1, "f")).pairs(),
                PromptGroup.expand(RankingsFile.read(file).get(0)).pairs());
    }

    /**
     * Scores r = (0.5, -0.25, 1.5) for responses (a, b, c) of {@link #LINE}. Pairs (c,a) d = 1.0 m = 1; (c,b) d = 1.75
     * m = 4/3; (a,b) d = 0.75 m = 1/3. With margins: -log sigmoid of 0, 5/12, 5/12 = 0.693147, 0.506360, 0.506360,
     * mean 0.568622. Without: -log sigmoid of 1.0, 1.75, 0.75 = 0.313262, 0.160224, 0.386871, mean 0.286786.
     */
    @Test
    void lossOfAFixedBatchMatchesHandComputedValues() {
        PromptGroup g = PromptGroup.expand(RankingsFile.parseLine(LINE, 1, "f"));
        List<int[]> pairs = new ArrayList<>();
        List<Double> margins = new ArrayList<>();
        List<Double> zeros = new ArrayList<>();
        for (PreferencePair p : g.pairs()) {
            pairs.add(new int[] {p.better(), p.worse()});
            margins.add(p.margin());
            zeros.add(0.0);
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray scores = m.create(new float[] {0.5f, -0.25f, 1.5f});
            NDArray diff = RewardModelTrainer.pairDifferences(m, scores, pairs, 3);
            assertArrayEquals(new float[] {1.0f, 1.75f, 0.75f}, diff.toFloatArray(), 1e-6f);
            assertEquals(0.568622, RewardModelTrainer.marginLoss(m, diff, margins).getFloat(), 1e-5);
            assertEquals(0.286786, RewardModelTrainer.marginLoss(m, diff, zeros).getFloat(), 1e-5);
        }
    }

    @Test
    void marginOptionParsesAndDefaultsToLlama2() {
        assertEquals(RewardSettings.Margin.LLAMA2, RewardSettings.defaults(null, null, null).margin());
        assertEquals(RewardSettings.Margin.NONE, RewardSettings.Margin.parse("none"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RewardSettings.Margin.parse("large"));
        assertTrue(e.getMessage().contains("'none' or 'llama2'"), e.getMessage());
    }

    private static String refusal(String line) {
        return assertThrows(RankingFormatException.class, () -> RankingsFile.parseLine(line, 7, "f")).getMessage();
    }
}
