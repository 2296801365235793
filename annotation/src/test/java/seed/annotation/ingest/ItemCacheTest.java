package seed.annotation.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.Annotation;
import seed.annotation.core.EventCodec;
import seed.annotation.core.EventIds;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.Signing;
import seed.annotation.infra.InfraConfig;

/**
 * The decoder's item-size cache stays within its limit (it used to keep one entry per item ever ingested), and a
 * batch with more items than the cache holds still finds every item's size (read from the real PostgreSQL).
 */
class ItemCacheTest {

    @TempDir
    Path dir;

    @Test
    void cacheStaysWithinItsLimitAndBigBatchesKeepTheirSizes() throws Exception {
        BatchDecoder alone = new BatchDecoder(IngestPiecesTest.SIGNING, 10);
        for (long id = 1; id <= 1000; id++) {
            alone.remember(id, 3);
            assertTrue(alone.cachedItems() <= 10, "cached " + alone.cachedItems() + " after " + id);
        }

        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 35; i++) {
            sb.append("{\"prompt\": \"cache prompt ").append(i).append("\", \"responses\": [\"a").append(i)
                    .append("\", \"b").append(i).append("\", \"c").append(i).append("\"], \"checkpoint\": \"ckpt\"}\n");
        }
        Path jsonl = Files.writeString(dir.resolve("candidates.jsonl"), sb.toString());
        try (Annotation a = Annotation.start(InfraConfig.embedded(dir.resolve("data")))) {
            List<Long> items = a.loadCandidates(jsonl, 1).itemIds();
            BatchDecoder d = new BatchDecoder(a.signing(), 10);
            for (int round = 0; round < 2; round++) {
                List<ConsumerRecord<String, byte[]>> recs = new ArrayList<>();
                for (long item : items) {
                    RankingEvent e = new RankingEvent(EventIds.next(), item, 7, List.of(2, 0, 1), List.of(), false,
                            List.of(), "web", Instant.now(), null);
                    byte[] v = EventCodec.encode(e);
                    RecordHeaders h = new RecordHeaders();
                    a.signing().sign(Signing.API_KEY, v, h);
                    recs.add(new ConsumerRecord<>("t", 0, recs.size(), 0L, TimestampType.CREATE_TIME, -1, v.length,
                            Long.toString(item), v, h, java.util.Optional.empty()));
                }
                BatchDecoder.Prepared p;
                try (Connection c = a.infra().ingesterDataSource().getConnection()) {
                    p = d.prepare(c, new ConsumerRecords<>(Map.of(new TopicPartition("t", 0), recs)), 1);
                }
                assertEquals(List.of(), p.rejects().stream().map(Refusals.Reject::reason).toList(), "round " + round);
                assertEquals(items.size(), p.valid()[0]);
                assertTrue(d.cachedItems() <= 10, "cached " + d.cachedItems());
            }
        }
    }
}
