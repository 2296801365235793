package seed.stages.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A small, fully synthetic instruction set whose answers a program can check, so that SFT, the reward model and
 * RLHF can be tested end to end without downloading data, and "did the model get better" has an independent answer.
 *
 * <p>Each task asks for the sum of two small numbers in one of several phrasings. The answer comes in one of two
 * styles: <em>polite</em> ("Sure! 3 plus 4 is 7. Happy to help.") or <em>curt</em> ("7."). SFT data mixes both styles,
 * so an SFT model produces both; a preference rule (polite and correct first) then gives RLHF something real to learn.
 */
public final class SyntheticInstructions {

    /** One instruction with its correct numeric answer and the style of the response. */
    public record Example(String prompt, String response, int a, int b, boolean polite) {
        public int answer() {
            return a + b;
        }
    }

    private static final String[] PHRASINGS = {
            "What is %d plus %d?", "Add %d and %d.", "Compute %d + %d.", "What do you get when you add %d to %d?",
    };

    private SyntheticInstructions() {
    }

    /** The prompt for a + b in phrasing {@code phrasing} (taken modulo the number of phrasings). */
    public static String prompt(int a, int b, int phrasing) {
        return String.format(PHRASINGS[Math.floorMod(phrasing, PHRASINGS.length)], a, b);
    }

    /** A polite, correct answer. */
    public static String politeResponse(int a, int b) {
        return "Sure! " + a + " plus " + b + " is " + (a + b) + ". Happy to help.";
    }

    /** A curt, correct answer. */
    public static String curtResponse(int a, int b) {
        return (a + b) + ".";
    }

    /**
     * {@code count} examples with operands in [0, maxOperand], a fraction {@code politeFraction} of them polite.
     * Deterministic for a given seed.
     */
    public static List<Example> generate(int count, int maxOperand, double politeFraction, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Example> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int a = random.nextInt(maxOperand + 1);
            int b = random.nextInt(maxOperand + 1);
            boolean polite = random.nextDouble() < politeFraction;
            String prompt = prompt(a, b, random.nextInt(PHRASINGS.length));
            out.add(new Example(prompt, polite ? politeResponse(a, b) : curtResponse(a, b), a, b, polite));
        }
        return out;
    }
}
