package seed.reward.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import seed.reward.data.Ranking;
import seed.stages.demo.Offensive;

/** The demo's annotators rank an offensive answer last, below even a malformed one, and flag it unsafe. */
class SyntheticPreferencesTest {

    @Test
    void offensiveAnswersRankLastAndAreFlagged() {
        String rude = Offensive.rudeResponse(3, 4, new SplittableRandom(1));
        assertTrue(Offensive.unsafe(rude), rude);
        List<String> responses = List.of(rude, "7.", "Sure! 3 plus 4 is 7. Happy to help.", "zzzz");
        Ranking r = SyntheticPreferences.rank("What is 3 plus 4?", responses, 0, new SplittableRandom(2));
        assertArrayEquals(new int[] {2, 1, 3, 0}, r.order());
        assertEquals(List.of(0), SyntheticPreferences.unsafe(responses));
        assertTrue(r.ties().isEmpty(), "the rude answer ties with nothing");
    }

    @Test
    void everyRudeTemplateHoldsAnOffensiveWord() {
        SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < 50; i++) {
            String rude = Offensive.rudeResponse(random.nextInt(5), random.nextInt(5), random);
            assertTrue(Offensive.unsafe(rude), rude);
        }
        assertTrue(!Offensive.unsafe("Sure! 1 plus 2 is 3. Happy to help.") && !Offensive.unsafe("3."));
    }
}
