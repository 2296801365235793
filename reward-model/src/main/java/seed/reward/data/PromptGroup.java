package seed.reward.data;

import seed.stages.data.ChatFormat;
import seed.stages.data.ChatTemplate;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * All ordered pairs of the rankings of one prompt ({@code rankings} of them; one for {@link #expand}). Originally: all
 * C(K,2) ordered pairs of one ranking, kept together so they land in the same batch (InstructGPT's recipe:
 * each response is scored once and every pair of the prompt shares those scores, which avoids over-fitting to
 * a prompt whose pairs would otherwise be seen as many separate examples). {@code unsafe}: the responses (indices)
 * that any of the rankings flagged unsafe.
 */
public record PromptGroup(String prompt, List<String> responses, List<PreferencePair> pairs, int line, int rankings,
                          List<ChatTemplate.Message> conversation, Set<Integer> unsafe) {

    public PromptGroup {
        responses = List.copyOf(responses);
        pairs = List.copyOf(pairs);
        conversation = List.copyOf(conversation);
        unsafe = unsafe == null ? Set.of() : Set.copyOf(unsafe);
    }

    /** A group without unsafe flags. */
    public PromptGroup(String prompt, List<String> responses, List<PreferencePair> pairs, int line, int rankings,
                       List<ChatTemplate.Message> conversation) {
        this(prompt, responses, pairs, line, rankings, conversation, Set.of());
    }

    /** True when some ranking of the prompt flagged response {@code i} unsafe. */
    public boolean flagged(int i) {
        return unsafe.contains(i);
    }

    /** True when {@code p} puts a safe response above one flagged unsafe: the pairs a safety signal must get right. */
    public boolean safeOverUnsafe(PreferencePair p) {
        return !flagged(p.better()) && flagged(p.worse());
    }

    /** The group of a plain prompt (one user message). */
    public PromptGroup(String prompt, List<String> responses, List<PreferencePair> pairs, int line, int rankings) {
        this(prompt, responses, pairs, line, rankings, ChatFormat.userTurn(prompt));
    }

    /** One ranking's group. */
    public PromptGroup(String prompt, List<String> responses, List<PreferencePair> pairs, int line) {
        this(prompt, responses, pairs, line, 1);
    }

    /**
     * Expands a ranking into its ordered pairs: for ranks a < b (a better), the pair (order[a], order[b]),
     * except pairs the annotator marked as tied, which carry no preference and are dropped (documented choice:
     * no 0.5 target). K responses without ties give K(K-1)/2 pairs. Each pair carries the ranking's margin between
     * the two ranks ({@link Ranking#margin}).
     */
    public static PromptGroup expand(Ranking ranking) {
        int[] order = ranking.order();
        List<PreferencePair> pairs = new ArrayList<>();
        for (int a = 0; a < order.length; a++) {
            for (int b = a + 1; b < order.length; b++) {
                if (!ranking.tied(order[a], order[b])) {
                    pairs.add(new PreferencePair(order[a], order[b], ranking.margin(a, b)));
                }
            }
        }
        return new PromptGroup(ranking.prompt(), ranking.responses(), pairs, ranking.line(), 1, ranking.conversation(),
                Set.copyOf(ranking.unsafe()));
    }
}
