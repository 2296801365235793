package seed.annotation.core;

import java.util.List;

/**
 * A ranking as an annotator (or a tool) submits it, before it has an event id.
 *
 * @param ranking response indices best first; empty when {@code skip}
 * @param ties    pairs of response indices judged equal
 * @param unsafe  indices of responses flagged unsafe
 * @param comment the annotator's optional note on this ranking (null = none), at most
 *                {@link RankingEvent#MAX_COMMENT_CHARS} characters
 * @param supersedes for an edit of a submitted ranking: the stored event it replaces (null = a first submission)
 * @param strengths  preference strength of each neighbouring pair (empty = not given), see {@link RankingRules#STRENGTHS}
 */
public record Submission(long itemId, List<Integer> ranking, List<RankingEvent.Tie> ties, boolean skip,
                         List<Integer> unsafe, String comment, java.util.UUID supersedes, List<Integer> strengths) {

    /** Without strengths. */
    public Submission(long itemId, List<Integer> ranking, List<RankingEvent.Tie> ties, boolean skip,
                      List<Integer> unsafe, String comment, java.util.UUID supersedes) {
        this(itemId, ranking, ties, skip, unsafe, comment, supersedes, List.of());
    }

    /** A first submission. */
    public Submission(long itemId, List<Integer> ranking, List<RankingEvent.Tie> ties, boolean skip,
                      List<Integer> unsafe, String comment) {
        this(itemId, ranking, ties, skip, unsafe, comment, null);
    }

    public Submission {
        ranking = List.copyOf(ranking);
        ties = List.copyOf(ties);
        unsafe = List.copyOf(unsafe);
        strengths = strengths == null ? List.of() : List.copyOf(strengths);
        comment = comment == null || comment.isBlank() ? null : comment;
    }

    /** Without a comment. */
    public Submission(long itemId, List<Integer> ranking, List<RankingEvent.Tie> ties, boolean skip, List<Integer> unsafe) {
        this(itemId, ranking, ties, skip, unsafe, null);
    }

    /** A plain full ranking without ties or flags. */
    public static Submission ranked(long itemId, List<Integer> ranking) {
        return new Submission(itemId, ranking, List.of(), false, List.of());
    }
}
