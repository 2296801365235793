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
 */
public record RankingEvent(UUID eventId, long itemId, long annotatorId, List<Integer> ranking, List<Tie> ties,
                           boolean skip, List<Integer> unsafe, String source, Instant submittedAt) {

    /** Two responses judged equally good. */
    public record Tie(int a, int b) {
    }

    public RankingEvent {
        ranking = List.copyOf(ranking);
        ties = List.copyOf(ties);
        unsafe = List.copyOf(unsafe);
    }
}
