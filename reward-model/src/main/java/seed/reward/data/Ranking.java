package seed.reward.data;

import seed.stages.data.ChatFormat;
import seed.stages.data.ChatTemplate;

import java.util.List;

/**
 * One annotator's ranking of K responses to one prompt: the unit of preference data Seed trains on.
 * {@code order} lists response indices best first; {@code ties} lists unordered index pairs judged equally good
 * (they produce no training pair). A pairwise chosen/rejected line is a ranking with K = 2.
 *
 * @param line the 1-based line of the source file (0 when built in code), kept for error messages
 * @param conversation the messages the prompt text renders (one user message for a plain prompt), which a chat
 *                     template frames in its own way
 * @param margins      Llama 2's margin of each neighbouring pair of {@code order} ({@code margins[p]}: how much better
 *                     {@code order[p]} is than {@code order[p+1]}, from the annotator's preference strength, see
 *                     {@link PreferenceStrength}); empty when the ranking carries no strengths
 * @param unsafe       indices of the responses the annotator flagged unsafe (the snapshot's {@code "unsafe"}, already
 *                     ranked below every safe response); what a safety head learns (Llama 2's safety reward model)
 */
public record Ranking(String prompt, List<String> responses, int[] order, List<int[]> ties, int line,
                      List<ChatTemplate.Message> conversation, double[] margins, List<Integer> unsafe) {

    public Ranking {
        responses = List.copyOf(responses);
        unsafe = unsafe == null ? List.of() : List.copyOf(new java.util.TreeSet<>(unsafe));
        for (int u : unsafe) {
            if (u < 0 || u >= responses.size()) {
                throw new IllegalArgumentException("unsafe flag " + u + " is out of range 0.." + (responses.size() - 1));
            }
        }
        order = order.clone();
        ties = ties.stream().map(int[]::clone).toList();
        conversation = List.copyOf(conversation);
        margins = margins == null ? new double[0] : margins.clone();
        if (margins.length != 0 && margins.length != order.length - 1) {
            throw new IllegalArgumentException("a ranking of " + order.length + " responses has " + (order.length - 1)
                    + " neighbouring pairs but " + margins.length + " margins");
        }
    }

    /** A ranking without unsafe flags. */
    public Ranking(String prompt, List<String> responses, int[] order, List<int[]> ties, int line,
                   List<ChatTemplate.Message> conversation, double[] margins) {
        this(prompt, responses, order, ties, line, conversation, margins, List.of());
    }

    /** A ranking without preference strengths. */
    public Ranking(String prompt, List<String> responses, int[] order, List<int[]> ties, int line,
                   List<ChatTemplate.Message> conversation) {
        this(prompt, responses, order, ties, line, conversation, new double[0]);
    }

    /** The same ranking with Llama 2's margin of each neighbouring pair (see {@link #margins}). */
    public Ranking withMargins(double[] neighbourMargins) {
        return new Ranking(prompt, responses, order, ties, line, conversation, neighbourMargins, unsafe);
    }

    /** The same ranking with these responses flagged unsafe (see {@link #unsafe}). */
    public Ranking withUnsafe(List<Integer> flagged) {
        return new Ranking(prompt, responses, order, ties, line, conversation, margins, flagged);
    }

    /**
     * The margin between the responses at ranks {@code a < b}: the sum of the neighbouring margins between them (as
     * the snapshot's TRL export sums them), 0 without strengths.
     */
    public double margin(int a, int b) {
        double m = 0;
        for (int p = a; p < b && p < margins.length; p++) {
            m += margins[p];
        }
        return m;
    }

    /** A ranking of a plain prompt (one user message). */
    public Ranking(String prompt, List<String> responses, int[] order, List<int[]> ties, int line) {
        this(prompt, responses, order, ties, line, ChatFormat.userTurn(prompt));
    }

    /** A chosen/rejected pair of a plain prompt as a K = 2 ranking. */
    public static Ranking pairwise(String prompt, String chosen, String rejected, int line) {
        return pairwise(ChatFormat.userTurn(prompt), chosen, rejected, line);
    }

    /** A chosen/rejected pair after a conversation as a K = 2 ranking. */
    public static Ranking pairwise(List<ChatTemplate.Message> conversation, String chosen, String rejected, int line) {
        return new Ranking(ChatTemplate.render(conversation), List.of(chosen, rejected), new int[] {0, 1}, List.of(),
                line, conversation);
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
