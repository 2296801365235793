package seed.workflows.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import seed.annotation.client.AnnotationClient;
import seed.annotation.core.Catalog;
import seed.reward.demo.SyntheticPreferences;
import seed.workflows.engine.SeedHost;

/**
 * The synthetic annotators (the annotation library's HTTP client ranking with the task's rule) against a real
 * annotation server (started by SeedHost, with a budget of one submission a
 * second per token set through the host's environment): the server answers 429 with Retry-After once the burst is
 * spent, and every ranking must still arrive, each 429 waited out and counted, none counted as a refusal.
 */
class SyntheticAnnotatorsRateLimitTest {

    @Test
    void waitsOutRetryAfterAndLosesNoRanking(@TempDir Path dir) throws Exception {
        // 1 per second per token, burst 4: ten submissions by one token cannot all pass without waiting
        Map<String, String> env = Map.of("SEED_SUBMITS_PER_SECOND_PER_TOKEN", "1");
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir, 0, false, 1, false), env)) {
            StringBuilder jsonl = new StringBuilder();
            for (int i = 0; i < 10; i++) {
                jsonl.append("{\"prompt\": \"What is ").append(i).append(" plus 1?\", \"responses\": [\"It is ")
                        .append(i + 1).append(", thank you for asking.\", \"").append(i + 2)
                        .append("\", \"No.\", \"It is ").append(i + 1).append(".\"], \"checkpoint\": \"runs/sft\"}\n");
            }
            Catalog catalog = host.annotation().catalog();
            catalog.loadCandidatesText(jsonl.toString(), "test", 1);
            Catalog.NewAnnotator who = host.annotation().addAnnotator("synthetic-rate-limited", "annotator");

            SplittableRandom random = new SplittableRandom(7);
            AnnotationClient.Tally r = new AnnotationClient(URI.create(host.annotationUrl()),
                    LoggerFactory.getLogger(SyntheticAnnotatorsRateLimitTest.class)).rankAll(List.of(who.token()),
                    item -> SyntheticAnnotators.judgement(SyntheticPreferences.rank(item.prompt(), item.responses(), 0.1,
                            random), SyntheticPreferences.unsafe(item.responses())));

            assertEquals(10, r.accepted(), r.toString());
            assertEquals(0, r.refused(), "a 429 is waited out, not a refusal: " + r);
            assertTrue(r.rateLimited() >= 1, "the server's budget was reached, so some 429 was waited out: " + r);

            host.annotation().ingestUntilCaughtUp(Duration.ofSeconds(60));
            try (Connection c = host.annotation().infra().dataSource().getConnection();
                 PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM ranking_events WHERE annotator_id = ?")) {
                ps.setLong(1, who.annotator().id());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    assertEquals(10, rs.getLong(1), "every accepted ranking is stored");
                }
            }
        }
    }

    @Test
    void retryAfterIsReadAsBoundedSeconds() {
        assertEquals(3, AnnotationClient.retryAfterSeconds("3"));
        assertEquals(3, AnnotationClient.retryAfterSeconds(" 3 "));
        assertEquals(AnnotationClient.MAX_RETRY_AFTER_SECONDS, AnnotationClient.retryAfterSeconds("86400"));
        assertEquals(0, AnnotationClient.retryAfterSeconds("-5"));
        assertEquals(1, AnnotationClient.retryAfterSeconds(null));
        assertEquals(1, AnnotationClient.retryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT"));
    }
}
