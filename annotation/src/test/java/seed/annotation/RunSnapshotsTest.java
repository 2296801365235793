package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.core.Annotator;
import seed.annotation.core.EventCodec;
import seed.annotation.core.Submission;
import seed.annotation.core.SubmitOutcome;
import seed.annotation.infra.InfraConfig;
import seed.annotation.snapshot.SnapshotInfo;
import seed.annotation.snapshot.SnapshotScope;
import seed.annotation.snapshot.Snapshots;

/**
 * Issue 17, item 7: several runs share one annotation database (one server), and each run's snapshot holds only the
 * rankings of its own items, so a run's reward model never trains on another run's candidates. Real PostgreSQL and
 * Kafka: rankings go through the producer and the ingester as in production.
 */
class RunSnapshotsTest {

    @TempDir
    static Path dir;
    static Annotation a;

    @BeforeAll
    static void start() {
        a = Annotation.start(InfraConfig.embedded(dir.resolve("data")));
    }

    @AfterAll
    static void stop() {
        if (a != null) {
            a.close();
        }
    }

    @Test
    void eachRunsSnapshotHoldsOnlyItsOwnItemsRankings() throws Exception {
        // two runs load their candidates into the same database; two annotators rank every item of both
        List<Long> runA = a.loadCandidates(Fixtures.candidates(dir, 3, 3, null), 2).itemIds();
        List<Long> runB = a.loadCandidates(Fixtures.candidates(dir, 2, 3, null), 2).itemIds();
        for (String who : List.of("x", "y")) {
            rankAll(annotator(who), concat(runA, runB), false);
        }
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));

        // the re-train's count of rankings no snapshot has taken: each run's snapshot takes its own rankings only
        long untaken = a.snapshots().rankingsNotYetSnapshotted();
        assertTrue(untaken >= 2L * (runA.size() + runB.size()), "untaken " + untaken);
        SnapshotInfo a1 = a.snapshot(SnapshotScope.items(runA));
        assertEquals(untaken - 2L * runA.size(), a.snapshots().rankingsNotYetSnapshotted(),
                "run A's snapshot takes run A's rankings, not run B's");
        SnapshotInfo b1 = a.snapshot(SnapshotScope.items(runB));
        assertEquals(untaken - 2L * (runA.size() + runB.size()), a.snapshots().rankingsNotYetSnapshotted());
        assertEquals(Set.copyOf(runA), itemsIn(a1), "run A's snapshot holds only run A's items");
        assertEquals(Set.copyOf(runB), itemsIn(b1), "run B's snapshot holds only run B's items");
        assertEquals(2 * runA.size(), a1.count());
        assertEquals(2 * runB.size(), b1.count());
        // the database records the scope, the item set and its hash, and the members agree with the file
        var ds = a.infra().dataSource();
        for (SnapshotInfo s : List.of(a1, b1)) {
            List<Long> ids = s == a1 ? runA : runB;
            assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM preference_snapshots WHERE id = ? AND scope = 'ITEMS'"
                    + " AND item_ids = ?::bigint[] AND item_ids_sha256 = ?", s.id(), pgArray(ids), SnapshotScope.idsSha256(ids)));
            assertEquals(0, Fixtures.count(ds, "SELECT count(*) FROM snapshot_members m JOIN ranking_events r"
                    + " ON r.event_id = m.event_id WHERE m.snapshot_id = ? AND NOT (r.item_id = ANY (?::bigint[]))",
                    s.id(), pgArray(ids)));
            assertEquals(s.count(), Fixtures.count(ds, "SELECT count(*) FROM snapshot_members WHERE snapshot_id = ?", s.id()));
            assertEquals(s, a.snapshots().get(s.id()).orElseThrow());
            assertTrue(Snapshots.verify(s));
        }
        // waiting for a run's rankings counts that run's items only
        assertEquals(2L * runA.size(), a.snapshots().countRankings(SnapshotScope.items(runA)));
        assertEquals(2L * runA.size(), a.snapshots().awaitRankings(SnapshotScope.items(runA), 2L * runA.size(),
                Duration.ofSeconds(5), Duration.ofMillis(50), n -> { }));
        IllegalStateException notYet = assertThrows(IllegalStateException.class, () -> a.snapshots().awaitRankings(
                SnapshotScope.items(runB), 2L * runB.size() + 1, Duration.ofMillis(200), Duration.ofMillis(50), n -> { }));
        assertTrue(notYet.getMessage().contains("only " + 2 * runB.size() + " of " + (2 * runB.size() + 1)),
                notYet.getMessage());
        assertTrue(a.itemsExist(runA) && !a.itemsExist(List.of(runA.get(0), 999_999L)));
        // every ranking, asked for by name, covers both runs and records the items it holds
        SnapshotInfo all = a.snapshot(SnapshotScope.all());
        assertEquals("ALL", all.scope());
        assertTrue(itemsIn(all).containsAll(concat(runA, runB)), all.toString());
        assertEquals(itemsIn(all), Set.copyOf(all.itemIds()));
        assertEquals(SnapshotScope.idsSha256(all.itemIds()), all.itemIdsSha256());
    }

    @Test
    void goldGateJudgesAnnotatorsOnTheRunsOwnItems() throws Exception {
        // both runs hold gold items; annotator "split" follows the gold order on run A and reverses it on run B
        List<Long> runA = a.loadCandidates(Fixtures.candidates(dir, 3, 3, List.of(0, 1, 2)), 2).itemIds();
        List<Long> runB = a.loadCandidates(Fixtures.candidates(dir, 3, 3, List.of(0, 1, 2)), 2).itemIds();
        Annotator split = annotator("split");
        rankAll(split, runA, false);
        rankAll(split, runB, true);
        Annotator faithful = annotator("faithful");
        rankAll(faithful, runB, false);
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));

        // over run A alone "split" agrees with gold (Spearman 1); over both runs its mean would be 0 and the gate at
        // 0.5 would keep it out of run A's own snapshot
        SnapshotInfo sa = a.snapshot(SnapshotScope.items(runA), 0.5);
        assertEquals(runA.size(), sa.count());
        assertEquals(Set.of(split.id()), annotatorsIn(sa));
        SnapshotInfo sb = a.snapshot(SnapshotScope.items(runB), 0.5);
        assertEquals(Set.of(faithful.id()), annotatorsIn(sb));
        assertEquals(Set.copyOf(runB), itemsIn(sb));
    }

    @Test
    void anEmptyOrUnrankedItemSetIsRefused() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> SnapshotScope.items(List.of()));
        assertThrows(IllegalArgumentException.class, () -> SnapshotScope.items(List.of(0L)));
        List<Long> unranked = a.loadCandidates(Fixtures.candidates(dir, 2, 2, null), 1).itemIds();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> a.snapshot(SnapshotScope.items(unranked)));
        assertTrue(e.getMessage().contains("of the 2 items asked for"), e.getMessage());
        // the same set in another order, with repeats, is the same set (and the same hash)
        List<Long> shuffled = new ArrayList<>(unranked);
        java.util.Collections.reverse(shuffled);
        shuffled.add(unranked.get(0));
        assertEquals(SnapshotScope.items(unranked), SnapshotScope.items(shuffled));
    }

    private static Annotator annotator(String prefix) {
        return a.addAnnotator(Fixtures.uniqueName(prefix), "annotator").annotator();
    }

    /** Ranks each item (k = 3) best-first 0,1,2, or reversed. */
    private static void rankAll(Annotator who, List<Long> items, boolean reversed) {
        for (long item : items) {
            a.catalog().assign(item, who.id());
            List<Integer> order = reversed ? List.of(2, 1, 0) : List.of(0, 1, 2);
            assertInstanceOf(SubmitOutcome.Accepted.class, a.submit(who, Submission.ranked(item, order)));
        }
    }

    private static Set<Long> itemsIn(SnapshotInfo s) throws Exception {
        return field(s, "item_id");
    }

    private static Set<Long> annotatorsIn(SnapshotInfo s) throws Exception {
        return field(s, "annotator_id");
    }

    private static Set<Long> field(SnapshotInfo s, String name) throws Exception {
        Set<Long> out = new TreeSet<>();
        for (String line : Files.readAllLines(s.path())) {
            JsonNode j = EventCodec.JSON.readTree(line);
            out.add(j.get(name).asLong());
        }
        return out;
    }

    private static List<Long> concat(List<Long> x, List<Long> y) {
        List<Long> out = new ArrayList<>(x);
        out.addAll(y);
        return out;
    }

    private static String pgArray(List<Long> ids) {
        return "{" + String.join(",", new TreeSet<>(ids).stream().map(String::valueOf).toList()) + "}";
    }
}
