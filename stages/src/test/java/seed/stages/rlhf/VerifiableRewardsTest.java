package seed.stages.rlhf;

import org.junit.jupiter.api.Test;
import seed.stages.checks.Check;
import seed.stages.generate.Generation;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The combined reward (model score + sum weight x pass) on a fixed batch, pinned to values computed by hand, and what
 * each algorithm's advantage estimation receives from it.
 */
class VerifiableRewardsTest {

    static final double EPS = 1e-6;

    /** Two prompts x two samples; sample 2 was cut off (no end token), so it passes no check. */
    static final List<String> PROMPTS = List.of("p1", "p1", "p2", "p2");
    static final List<Generation> GENS = List.of(
            gen("Sure, 4.", true), gen("4, idiot.", true), gen("idiot idiot idiot idiot", false), gen("Sure, 7.", true));
    static final float[] MODEL = {0.5f, 1.0f, -0.25f, 0.0f};

    static Generation gen(String text, boolean ended) {
        return new Generation(new int[] {1}, new int[] {2, 3}, text, ended ? Generation.StopReason.END_OF_TEXT
                : Generation.StopReason.MAX_TOKENS);
    }

    /** safe: +1.5 when clean; short: +0.5 when <= 10 characters; bad: -1 when it holds the word (negative weight). */
    static VerifiableRewards rewards() {
        List<Check> configured = List.of(Check.parse("safe:no-keywords=idiot"));
        return Check.rewards(List.of("safe=1.5", "short:max-length=10=0.5", "bad:keywords=idiot=-1"), configured);
    }

    // by hand: 0: 0.5 + 1.5 + 0.5 = 2.5 | 1: 1.0 + 0.5 - 1 = 0.5 | 2: cut off, -0.25 | 3: 0 + 1.5 + 0.5 = 2.0
    static final float[] COMBINED = {2.5f, 0.5f, -0.25f, 2.0f};

    @Test
    void combinedRewardAndPerCheckLog() {
        Map<String, Object> rec = new LinkedHashMap<>();
        float[] combined = PpoTrainer.combine(rewards(), MODEL, PROMPTS, GENS, rec);
        assertArrayEquals(COMBINED, combined, (float) EPS);
        assertEquals(4.75 / 4, (double) rec.get("reward_total"), EPS);
        assertEquals(0.5, (double) rec.get("reward_check_safe_pass"), EPS);
        assertEquals(0.75, (double) rec.get("reward_check_safe"), EPS);
        assertEquals(0.75, (double) rec.get("reward_check_short_pass"), EPS);
        assertEquals(0.375, (double) rec.get("reward_check_short"), EPS);
        assertEquals(0.25, (double) rec.get("reward_check_bad_pass"), EPS);
        assertEquals(-0.25, (double) rec.get("reward_check_bad"), EPS);
        // the model's scores are untouched (they are what "reward" logs)
        assertArrayEquals(new float[] {0.5f, 1.0f, -0.25f, 0.0f}, MODEL);
        // none configured: the reward model alone, nothing logged
        Map<String, Object> empty = new LinkedHashMap<>();
        assertArrayEquals(MODEL, PpoTrainer.combine(VerifiableRewards.none(), MODEL, PROMPTS, GENS, empty));
        assertTrue(empty.isEmpty());
    }

    @Test
    void eachAlgorithmsInput() {
        double[] kl = {0.1, 0.2, 0.3, 0.4};
        // RLOO: r_i - mean of the others (k = 2: the other one)
        assertArrayEquals(new float[] {2.0f, -2.0f, -2.25f, 2.25f},
                Advantages.criticFree(PpoSettings.Algorithm.RLOO, COMBINED, kl, 0.5, false, 2), (float) EPS);
        // RLOO with the KL in the reward: 2.45, 0.4, -0.4, 1.8 before the baseline
        assertArrayEquals(new float[] {2.05f, -2.05f, -2.2f, 2.2f},
                Advantages.criticFree(PpoSettings.Algorithm.RLOO, COMBINED, kl, 0.5, true, 2), (float) 1e-5);
        // GRPO: (r - mean) / (unbiased std + 1e-4); group 1 mean 1.5 std sqrt(2), group 2 mean 0.875 std 1.125 sqrt(2)
        assertArrayEquals(new float[] {0.7070567847f, -0.7070567847f, -0.7070623395f, 0.7070623395f},
                Advantages.criticFree(PpoSettings.Algorithm.GRPO, COMBINED, kl, 0.5, false, 2), (float) EPS);
        // Dr. GRPO: r - group mean
        assertArrayEquals(new float[] {1.0f, -1.0f, -1.125f, 1.125f},
                Advantages.criticFree(PpoSettings.Algorithm.DR_GRPO, COMBINED, kl, 0.5, false, 2), (float) EPS);
        // PPO: -0.1 * (logp - ref) per token, the combined score at the last token
        assertArrayEquals(new float[] {-0.05f, 2.5f},
                Advantages.tokenRewards(COMBINED[0], new float[] {-1f, -2f}, new float[] {-1.5f, -2f}, 0.1), (float) EPS);
        assertArrayEquals(new float[] {0.0f, -0.25f},
                Advantages.tokenRewards(COMBINED[2], new float[] {-1f, -2f}, new float[] {-1f, -2f}, 0.1), (float) EPS);
    }

    @Test
    void badEntriesAreRefusedClearly() {
        List<Check> configured = List.of(Check.parse("safe:no-keywords=idiot"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Check.rewards(List.of("safe"), configured))
                .getMessage().contains("NAME=WEIGHT"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Check.rewards(List.of("safe=heavy"), configured))
                .getMessage().contains("not a number"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Check.rewards(List.of("safe=0"), configured))
                .getMessage().contains("non-zero"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Check.rewards(List.of("nosuch=1"), configured))
                .getMessage().contains("unknown kind"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Check.rewards(List.of("safe:keywords=x=1"), configured)).getMessage().contains("another definition"));
        assertTrue(Check.rewards(List.of("none"), configured).isEmpty());
        assertEquals(List.of("safe*1.5", "short*0.5", "bad*-1.0"), rewards().describe());
    }
}
