package seed.reward.data;

import java.util.List;

/**
 * One annotator's ranking of K responses to one prompt: the unit of preference data Seed trains on.
 * {@code order} lists response indices best first; {@code ties} lists unordered index pairs judged equally good
 * (they produce no training pair). A pairwise chosen/rejected line is a ranking with K = 2.
 *
 * @param line the 1-based line of the source file (0 when built in code), kept for error messages
 */
public record Ranking(String prompt, List<String> responses, int[] order, List<int[]> ties, int line) {

    public Ranking {
        responses = List.copyOf(responses);
        order = order.clone();
        ties = ties.stream().map(int[]::clone).toList();
    }

    /** A chosen/rejected pair as a K = 2 ranking. */
    public static Ranking pairwise(String prompt, String chosen, String rejected, int line) {
        return new Ranking(prompt, List.of(chosen, rejected), new int[] {0, 1}, List.of(), line);
    }

    public int k() {
        return responses.size();
    }

    /** True when annotators judged responses {@code i} and {@code j} equally good. */
    public boolean tied(int i, int j) {
        for (int[] t : ties) {
            if ((t[0] == i && t[1] == j) || (t[0] == j && t[1] == i)) {
                return true;
            }
        }
        return false;
    }
}
