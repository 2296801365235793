package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.core.Annotator;
import seed.annotation.core.Catalog;
import seed.annotation.core.EventCodec;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.RankingProducer;
import seed.annotation.infra.InfraConfig;
import seed.annotation.snapshot.SnapshotInfo;
import seed.annotation.snapshot.SnapshotScope;

/**
 * Issue 22: the snapshot's lines are in a canonical order (item, annotator, event id), so the same rankings give the
 * same file byte for byte and the same SHA-256 whatever order Kafka delivered them in; before, the lines came in
 * ingestion order and every demo run's reward model saw its data in another order. Two fresh databases (real
 * PostgreSQL and Kafka) receive the same ranking events, one in the opposite order of the other.
 */
class SnapshotOrderTest {

    @TempDir
    Path dir;

    /** One ranking: indices into the run's items and annotators, its fixed event id, the order and unsafe flags. */
    private record Ranked(int item, int annotator, UUID id, List<Integer> order, List<Integer> unsafe) {
    }

    /** What one database made of the rankings: the snapshot, its bytes, and the event ids in ingestion (seq) order. */
    private record Made(SnapshotInfo info, byte[] bytes, List<String> ingestionOrder) {
    }

    @Test
    void theSameRankingsDeliveredInAnotherOrderGiveTheSameFile() throws Exception {
        Path candidates = Fixtures.candidates(dir, 4, 3, null);
        Random rnd = new Random(22);
        List<Ranked> rankings = new ArrayList<>();
        for (int item = 0; item < 4; item++) {
            for (int annotator = 0; annotator < 3; annotator++) {
                List<Integer> order = new ArrayList<>(List.of(0, 1, 2));
                Collections.shuffle(order, rnd);
                List<Integer> unsafe = (item + annotator) % 4 == 0 ? List.of(order.get(0)) : List.of();
                rankings.add(new Ranked(item, annotator, new UUID(rnd.nextLong(), rnd.nextLong()), order, unsafe));
            }
        }
        List<Ranked> reversed = new ArrayList<>(rankings);
        Collections.reverse(reversed);

        Made first = snapshotIn(dir.resolve("db-a"), candidates, rankings);
        Made second = snapshotIn(dir.resolve("db-b"), candidates, reversed);

        assertNotEquals(first.ingestionOrder(), second.ingestionOrder(), "the two databases ingested in other orders");
        assertEquals(12, first.info().count());
        assertArrayEquals(first.bytes(), second.bytes(), "the same rankings must give the same file");
        assertEquals(first.info().sha256(), second.info().sha256());
        // the canonical order: by item, then annotator, then event id
        List<String> keys = new ArrayList<>();
        for (String line : Files.readAllLines(first.info().path())) {
            JsonNode j = EventCodec.JSON.readTree(line);
            keys.add(String.format("%012d/%012d/%s", j.get("item_id").asLong(), j.get("annotator_id").asLong(),
                    j.get("event_id").asText()));
        }
        List<String> sorted = new ArrayList<>(keys);
        Collections.sort(sorted);
        assertEquals(sorted, keys);
    }

    /** A fresh database: the same items and annotators (so the same ids), then the rankings in the given order. */
    private static Made snapshotIn(Path data, Path candidates, List<Ranked> order) throws Exception {
        try (Annotation a = Annotation.start(InfraConfig.embedded(data))) {
            List<Long> items = a.loadCandidates(candidates, 3).itemIds();
            List<Annotator> annotators = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                annotators.add(a.addAnnotator("ranker-" + i, "annotator").annotator());
            }
            try (RankingProducer p = new RankingProducer(a.infra().kafkaBootstrap(), a.infra().config().topic(),
                    java.util.Map.of(), a.signing())) {
                for (Ranked r : order) {
                    long item = items.get(r.item());
                    long who = annotators.get(r.annotator()).id();
                    a.catalog().assign(item, who);
                    assertEquals(Catalog.Claim.CLAIMED, a.catalog().claim(item, who, r.id()));
                    // one at a time: each is acknowledged before the next is sent, so delivery follows this order
                    p.send(new RankingEvent(r.id(), item, who, r.order(), List.of(), false, r.unsafe(), "api",
                            Instant.now())).get();
                }
            }
            a.ingestUntilCaughtUp(Duration.ofSeconds(60));
            SnapshotInfo s = a.snapshot(SnapshotScope.items(items));
            List<String> ingested = new ArrayList<>();
            try (Connection c = a.infra().dataSource().getConnection();
                 PreparedStatement ps = c.prepareStatement("SELECT event_id::text FROM ranking_events ORDER BY seq");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ingested.add(rs.getString(1));
                }
            }
            return new Made(s, Files.readAllBytes(s.path()), ingested);
        }
    }
}
