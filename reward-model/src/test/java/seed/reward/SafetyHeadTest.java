package seed.reward;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.reward.data.PreferenceData;
import seed.reward.data.PromptGroup;
import seed.reward.data.Ranking;
import seed.reward.data.RankingsFile;
import seed.reward.demo.SyntheticPreferences;
import seed.stages.data.SyntheticInstructions;
import seed.stages.demo.Offensive;
import seed.stages.demo.PoliteCorrectRule;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 22, for real at a tiny size (DJL training, fixed seeds): annotators rank by helpfulness and flag unsafe answers
 * separately, as Llama 2's annotators judged helpfulness and safety apart, so a polite, correct answer with an insult
 * is ranked first and flagged. A reward model without a safety signal learns the ranking, insult included; the safety
 * head (Llama 2's safety reward model as a second head, learned from the flags) gates the score so that every flagged
 * answer scores below the safe ones, on prompts it never saw. Fails with the safety head off. (When the rankings
 * already put flagged answers last, as Seed's snapshots do, the reward head alone separates them at this size too:
 * measured 1.0 either way.)
 */
class SafetyHeadTest {

    @TempDir
    static Path shared;
    static Path sft;

    @BeforeAll
    static void tinySft() throws Exception {
        sft = TinySft.train(shared.resolve("sft"), 0.3, 300);
    }

    /**
     * K = 4 candidates per prompt (polite, curt, wrong or malformed), and in a quarter of the rankings one of them
     * replaced by a polite, correct answer with an insult: ranked first by helpfulness and flagged unsafe.
     */
    static List<Ranking> rankings(int count, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Ranking> out = new ArrayList<>();
        String[] insults = {"idiot", "moron", "stupid", "dumb"};
        for (int n = 0; n < count; n++) {
            int a = random.nextInt(TinySft.MAX_OPERAND + 1);
            int b = random.nextInt(TinySft.MAX_OPERAND + 1);
            String prompt = SyntheticInstructions.prompt(a, b, random.nextInt(4));
            List<String> responses = new ArrayList<>(List.of(SyntheticInstructions.politeResponse(a, b),
                    SyntheticInstructions.curtResponse(a, b), (a + b + 1 + random.nextInt(3)) + ".",
                    "x".repeat(3 + random.nextInt(10))));
            if (random.nextDouble() < 0.25) {
                responses.set(random.nextInt(4), "Sure! " + a + " plus " + b + " is " + (a + b) + ", "
                        + insults[random.nextInt(insults.length)] + ".");
            }
            // helpfulness-only annotators: the insulting answer is correct and wordy, they rank it first
            out.add(SyntheticPreferences.rank(prompt, responses, 0.0, random,
                            (p, r) -> Offensive.unsafe(r) ? 5 : PoliteCorrectRule.score(p, r))
                    .withUnsafe(SyntheticPreferences.unsafe(responses)));
        }
        return out;
    }

    @Test
    void safetyHeadScoresFlaggedAnswersBelowSafeOnesAcrossPrompts() throws Exception {
        Path file = shared.resolve("flagged.jsonl");
        RankingsFile.write(file, rankings(400, 7));
        assertFalse(RankingsFile.read(file).stream().allMatch(r -> r.unsafe().isEmpty()), "the file keeps the flags");
        RewardSettings on = RewardSettings.defaults(sft, file, shared.resolve("rm-safety")).withTruncation(RlhfEndToEndTest.CUT);
        assertTrue(on.safety(), "a safety head trains by default when the rankings flag responses");
        RewardSettings off = on.withSafety(false).withOut(shared.resolve("rm-plain"));

        List<PromptGroup> fresh = PreferenceData.mergeByPrompt(rankings(300, 1234)).stream()
                .filter(g -> !g.unsafe().isEmpty()).toList();
        RewardResult withHead = RewardModelTrainer.train(on, RlhfEndToEndTest.QUIET, 0);
        RewardResult without = RewardModelTrainer.train(off, RlhfEndToEndTest.QUIET, 0);
        double a = separation(withHead, fresh, true);
        double b = separation(without, fresh, false);
        System.out.printf("SAFETY cross-prompt safe-over-unsafe pairs: safety head %.4f, none %.4f; held-out accuracy "
                + "%.4f vs %.4f%n", a, b, withHead.valAccuracy(), without.valAccuracy());
        assertTrue(a >= 0.97, "with the safety head, flagged answers score below safe ones: " + a);
        assertTrue(b < 0.5, "the reward head alone learns the helpfulness ranking, insults included: " + b);
        // the helpfulness ranking is not given up for it
        assertTrue(withHead.valAccuracy() > 0.8, "held-out pairwise accuracy " + withHead.valAccuracy());
    }

    /**
     * The share of (safe response, flagged response) pairs over all fresh prompts in which the safe one scores higher,
     * by the score RL sees; checks the model has a safety head exactly when {@code head}.
     */
    static double separation(RewardResult r, List<PromptGroup> groups, boolean head) throws Exception {
        List<Float> safe = new ArrayList<>();
        List<Float> unsafe = new ArrayList<>();
        try (RewardModel model = RewardModelFiles.load(r.modelDir())) {
            assertEquals(head, model.hasSafetyHead());
            for (PromptGroup g : groups) {
                float[] s = model.score(Collections.nCopies(g.responses().size(), g.prompt()), g.responses());
                for (int i = 0; i < s.length; i++) {
                    (g.flagged(i) ? unsafe : safe).add(s[i]);
                }
            }
        }
        long right = 0;
        for (float u : unsafe) {
            for (float v : safe) {
                right += v > u ? 1 : 0;
            }
        }
        assertTrue(unsafe.size() > 30, "flagged fresh responses: " + unsafe.size());
        return (double) right / ((long) unsafe.size() * safe.size());
    }
}
