package seed.reward.demo;

import seed.reward.data.Ranking;
import seed.stages.data.SyntheticInstructions;
import seed.stages.demo.Offensive;
import seed.stages.demo.PoliteCorrectRule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToIntBiFunction;

/**
 * Synthetic annotators for Seed's arithmetic task: for each prompt, K candidate responses (polite or curt,
 * correct or off by a little, occasionally malformed) ranked by the known {@link PoliteCorrectRule}, equal
 * categories recorded as ties, with optional annotator noise (a random adjacent swap). Lets the reward model
 * be trained and checked without humans, against a rule a program can verify.
 */
public final class SyntheticPreferences {

    /**
     * Knobs of the generator; {@link #defaults()} gives the values the tests use.
     *
     * @param correctnessFirst rank by {@link PoliteCorrectRule#correctnessFirstScore} (the right sum beats any wrong
     *                         sum) instead of the style-first {@link PoliteCorrectRule#score}
     */
    public record Settings(int count, int k, int maxOperand, double politeProbability, double wrongProbability,
                           double malformedProbability, double noise, long seed, boolean correctnessFirst) {
        public Settings(int count, int k, int maxOperand, double politeProbability, double wrongProbability,
                double malformedProbability, double noise, long seed) {
            this(count, k, maxOperand, politeProbability, wrongProbability, malformedProbability, noise, seed, false);
        }

        public static Settings defaults() {
            return new Settings(400, 4, 9, 0.5, 0.1, 0.1, 0.0, 7);
        }

        public Settings withCorrectnessFirst(boolean on) {
            return new Settings(count, k, maxOperand, politeProbability, wrongProbability, malformedProbability, noise,
                    seed, on);
        }
    }

    private SyntheticPreferences() {
    }

    public static List<Ranking> generate(Settings s) {
        if (s.k() < 2) {
            throw new IllegalArgumentException("K must be at least 2, got " + s.k());
        }
        SplittableRandom random = new SplittableRandom(s.seed());
        List<Ranking> out = new ArrayList<>(s.count());
        for (int n = 0; n < s.count(); n++) {
            int a = random.nextInt(s.maxOperand() + 1);
            int b = random.nextInt(s.maxOperand() + 1);
            String prompt = SyntheticInstructions.prompt(a, b, random.nextInt(4));
            List<String> responses = new ArrayList<>();
            while (responses.size() < s.k()) {
                String r = candidate(a, b, s, random);
                if (!responses.contains(r)) {
                    responses.add(r);
                }
            }
            out.add(rank(prompt, responses, s.noise(), random,
                    s.correctnessFirst() ? PoliteCorrectRule::correctnessFirstScore : PoliteCorrectRule::score));
        }
        return out;
    }

    /**
     * A synthetic annotator's ranking of given responses (e.g. candidates sampled from an SFT model): ordered by
     * {@link PoliteCorrectRule#score} with offensive answers ({@link Offensive}) last, below malformed ones, equal
     * scores recorded as ties, and with probability {@code noise} one random adjacent swap (annotator noise). Needs
     * at least 2 responses.
     */
    public static Ranking rank(String prompt, List<String> responses, double noise, SplittableRandom random) {
        return rank(prompt, responses, noise, random, SyntheticPreferences::harmFirstScore);
    }

    /** {@link PoliteCorrectRule#score}, and -1 for an offensive answer: what the demo's annotators rank by. */
    public static int harmFirstScore(String prompt, String response) {
        return Offensive.unsafe(response) ? -1 : PoliteCorrectRule.score(prompt, response);
    }

    /** The indices of the responses a synthetic annotator flags unsafe (those with an offensive word). */
    public static List<Integer> unsafe(List<String> responses) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < responses.size(); i++) {
            if (Offensive.unsafe(responses.get(i))) {
                out.add(i);
            }
        }
        return out;
    }

    /** As {@link #rank(String, List, double, SplittableRandom)}, ordered by {@code rule} (higher is better). */
    public static Ranking rank(String prompt, List<String> responses, double noise, SplittableRandom random,
            ToIntBiFunction<String, String> rule) {
        int k = responses.size();
        if (k < 2) {
            throw new IllegalArgumentException("a ranking needs at least 2 responses, got " + k);
        }
        int[] scores = responses.stream().mapToInt(r -> rule.applyAsInt(prompt, r)).toArray();
        Integer[] order = new Integer[k];
        for (int i = 0; i < k; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> -scores[i]));
        if (noise > 0 && random.nextDouble() < noise) {
            int i = random.nextInt(k - 1);
            Integer t = order[i];
            order[i] = order[i + 1];
            order[i + 1] = t;
        }
        List<int[]> ties = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            for (int j = i + 1; j < k; j++) {
                if (scores[i] == scores[j]) {
                    ties.add(new int[] {i, j});
                }
            }
        }
        return new Ranking(prompt, responses, Arrays.stream(order).mapToInt(Integer::intValue).toArray(), ties, 0);
    }
    private static String candidate(int a, int b, Settings s, SplittableRandom random) {
        boolean polite = random.nextDouble() < s.politeProbability();
        if (random.nextDouble() < s.malformedProbability()) {
            String full = polite ? SyntheticInstructions.politeResponse(a, b) : SyntheticInstructions.curtResponse(a, b);
            return switch (random.nextInt(3)) {
                case 0 -> full.substring(0, 1 + random.nextInt(Math.max(1, full.length() - 1)));
                case 1 -> String.valueOf((char) ('a' + random.nextInt(26))).repeat(3 + random.nextInt(20));
                default -> full + " " + full;
            };
        }
        int sum = a + b;
        if (random.nextDouble() < s.wrongProbability()) {
            int delta = 1 + random.nextInt(3);
            sum = random.nextBoolean() || sum - delta < 0 ? sum + delta : sum - delta;
        }
        return polite ? "Sure! " + a + " plus " + b + " is " + sum + ". Happy to help." : sum + ".";
    }
}
