package seed.stages.demo;

import seed.stages.rlhf.Evaluator;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The known preference rule of Seed's synthetic arithmetic task, written as a program: it ranks responses and,
 * independently of any learned reward model, checks whether RLHF really made answers better (a reward-hacked
 * policy fools the reward model, not this check).
 *
 * <p>Rule (a style preference, as annotators often have): a polite answer ("Sure! 3 plus 4 is 7. Happy to help.")
 * beats a curt one ("7."); among answers of the same style a correct one beats a wrong one; anything that is
 * neither form (truncated, repeated, garbage) is worst. Style comes first because a tiny reward model can see it
 * reliably, while checking a sum needs arithmetic it only partly learns; the independent metric of the RL stage
 * ({@link #politeAndCorrect}) still demands both.
 */
public final class PoliteCorrectRule {

    /** The categories the rule distinguishes, best first by {@link #score}. */
    public enum Category { POLITE_CORRECT, POLITE_WRONG, CURT_CORRECT, CURT_WRONG, MALFORMED }

    private static final Pattern OPERANDS = Pattern.compile("(\\d+)\\D+?(\\d+)");
    private static final Pattern POLITE = Pattern.compile("Sure! (\\d+) plus (\\d+) is (-?\\d+)\\. Happy to help\\.");
    private static final Pattern CURT = Pattern.compile("(-?\\d+)\\.");

    private PoliteCorrectRule() {
    }

    /** The two operands of a synthetic prompt, or null when the prompt holds fewer than two numbers. */
    public static int[] operands(String prompt) {
        Matcher m = OPERANDS.matcher(prompt);
        if (!m.find()) {
            return null;
        }
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }

    /** Classifies {@code response} (without the end token) to {@code prompt}. */
    public static Category classify(String prompt, String response) {
        int[] ab = operands(prompt);
        if (ab == null) {
            return Category.MALFORMED;
        }
        long sum = (long) ab[0] + ab[1];
        Matcher p = POLITE.matcher(response);
        if (p.matches()) {
            boolean sameOperands = sameOperands(p.group(1), p.group(2), ab);
            return sameOperands && parse(p.group(3)) == sum ? Category.POLITE_CORRECT : Category.POLITE_WRONG;
        }
        Matcher c = CURT.matcher(response);
        if (c.matches()) {
            return parse(c.group(1)) == sum ? Category.CURT_CORRECT : Category.CURT_WRONG;
        }
        return Category.MALFORMED;
    }

    /** Higher is better: 4 polite-correct, 3 polite-wrong, 2 curt-correct, 1 curt-wrong, 0 malformed. */
    public static int score(String prompt, String response) {
        return 4 - classify(prompt, response).ordinal();
    }

    /**
     * The correctness-dominant order, as rankers who check facts first rank: the right sum beats any wrong sum, and
     * among equally correct answers the polite one wins (4 polite-correct, 3 curt-correct, 2 polite-wrong,
     * 1 curt-wrong, 0 malformed). Harder for a reward model than {@link #score}: it must check the sum.
     */
    public static int correctnessFirstScore(String prompt, String response) {
        return switch (classify(prompt, response)) {
            case POLITE_CORRECT -> 4;
            case CURT_CORRECT -> 3;
            case POLITE_WRONG -> 2;
            case CURT_WRONG -> 1;
            case MALFORMED -> 0;
        };
    }

    /**
     * The demo task's evaluator for the RL stage: the check {@code rule} (polite and correct) and guard thresholds
     * tuned to it. Polite answers are legitimately ~3x longer than curt ones, so only extremes count as collapse
     * (below 40% of the SFT length) or explosion (above 4x, or most responses running into the token limit).
     */
    public static Evaluator evaluator() {
        return new Evaluator(List.of(new Evaluator.Check("rule", PoliteCorrectRule::politeAndCorrect)), 0.4, 4.0, 0.5, 0.5);
    }

    /** The independent success metric of the RLHF stage: polite, correct, and well-formed. */
    public static boolean politeAndCorrect(String prompt, String response) {
        return classify(prompt, response) == Category.POLITE_CORRECT;
    }

    private static boolean sameOperands(String x, String y, int[] ab) {
        long a = parse(x), b = parse(y);
        return (a == ab[0] && b == ab[1]) || (a == ab[1] && b == ab[0]);
    }

    private static long parse(String digits) {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            return Long.MIN_VALUE;
        }
    }
}
