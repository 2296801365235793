package seed.annotation.core;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * One ranking as it travels over Kafka: who ranked which item, how, and when. The same record is produced by the
 * HTTP API, the programmatic API and the importer, and consumed by the ingester.
 *
 * @param ranking response indices best first (empty when {@code skip})
 * @param ties    pairs of response indices judged equal
 * @param unsafe  indices of responses the annotator flagged unsafe
 * @param source  where it came from: "web", "api", "import", "synthetic", "bench"
 * @param comment    the annotator's optional note (null = none)
 * @param supersedes the event this one edits (null for a first submission); the earlier one stays stored
 * @param strengths  preference strength of each neighbouring pair of the ranking (see {@link RankingRules#STRENGTHS});
 *                   empty when not given
 */
public record RankingEvent(UUID eventId, long itemId, long annotatorId, List<Integer> ranking, List<Tie> ties,
                           boolean skip, List<Integer> unsafe, String source, Instant submittedAt, String comment,
                           UUID supersedes, List<Integer> strengths) {

    /** Without strengths. */
    public RankingEvent(UUID eventId, long itemId, long annotatorId, List<Integer> ranking, List<Tie> ties,
                        boolean skip, List<Integer> unsafe, String source, Instant submittedAt, String comment,
                        UUID supersedes) {
        this(eventId, itemId, annotatorId, ranking, ties, skip, unsafe, source, submittedAt, comment, supersedes, List.of());
    }

    /** A first submission (not an edit). */
    public RankingEvent(UUID eventId, long itemId, long annotatorId, List<Integer> ranking, List<Tie> ties,
                        boolean skip, List<Integer> unsafe, String source, Instant submittedAt, String comment) {
        this(eventId, itemId, annotatorId, ranking, ties, skip, unsafe, source, submittedAt, comment, null);
    }

    /** Longest comment accepted (characters). */
    public static final int MAX_COMMENT_CHARS = 2000;

    /** Without a comment. */
    public RankingEvent(UUID eventId, long itemId, long annotatorId, List<Integer> ranking, List<Tie> ties,
                        boolean skip, List<Integer> unsafe, String source, Instant submittedAt) {
        this(eventId, itemId, annotatorId, ranking, ties, skip, unsafe, source, submittedAt, null);
    }

    /** Why a comment cannot be stored, or null when it can (or there is none). */
    public static String checkComment(String c) {
        if (c == null) {
            return null;
        }
        if (c.length() > MAX_COMMENT_CHARS) {
            return "comment has " + c.length() + " characters; at most " + MAX_COMMENT_CHARS + " are kept";
        }
        for (int i = 0; i < c.length(); i++) {
            char ch = c.charAt(i);
            if (Character.isISOControl(ch) && ch != '\n' && ch != '\t') {
                return "comment holds a control character (U+" + String.format("%04X", (int) ch) + ")";
            }
        }
        return null;
    }

    /** Two responses judged equally good. */
    public record Tie(int a, int b) {
    }

    public RankingEvent {
        ranking = List.copyOf(ranking);
        ties = List.copyOf(ties);
        unsafe = List.copyOf(unsafe);
        strengths = strengths == null ? List.of() : List.copyOf(strengths);
    }
}
