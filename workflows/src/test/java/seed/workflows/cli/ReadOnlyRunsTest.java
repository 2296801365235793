package seed.workflows.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.workflows.engine.SeedEngine;

/**
 * Issue 17, item 6: {@code seed runs} on a work folder no process owns read Kestra's state by starting Kafka,
 * PostgreSQL, the annotation server and the engine (36 s). It now opens only the engine's state, read-only.
 */
class ReadOnlyRunsTest {

    @Test
    void listingRunsWithoutAServerStartsNeitherKafkaNorPostgres(@TempDir Path dir) throws Exception {
        Path work = dir.resolve("work");
        // engine state as a stopped seed run leaves it (H2 database with Seed's flows)
        SeedEngine.start(new SeedEngine.Config(work, Map.of(), true, 1, false)).close();

        long t0 = System.nanoTime();
        OperatorJourneyTest.Result r = OperatorJourneyTest.seed("runs", "--work", work.toString());
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("seed runs without a server: %.1f s%n", seconds);
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("Kafka and PostgreSQL are not started"), r.out());
        assertFalse(r.out().contains("starting Kafka"), r.out());
        assertTrue(r.out().contains("launched by"), r.out());
        assertFalse(Hosts.runningServer(work).isPresent(), "a reader does not claim the work folder");
    }
}
