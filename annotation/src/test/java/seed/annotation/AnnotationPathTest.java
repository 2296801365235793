package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.core.Annotator;
import seed.annotation.core.Catalog;
import seed.annotation.core.EventCodec;
import seed.annotation.core.Item;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.RankingProducer;
import seed.annotation.core.Submission;
import seed.annotation.core.SubmitOutcome;
import seed.annotation.infra.InfraConfig;
import seed.annotation.snapshot.SnapshotInfo;
import seed.annotation.snapshot.Snapshots;
import seed.annotation.stats.Agreement;

/**
 * The whole path on a real in-process Kafka broker and a real PostgreSQL: the Java API submits through validation
 * and Kafka, the ingester writes rows idempotently and dead-letters bad records, snapshots freeze rankings, import
 * goes through the same path, and agreement is computed. One broker and one database for the class.
 */
class AnnotationPathTest {

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

    private static Annotator annotator(String prefix) {
        return a.addAnnotator(Fixtures.uniqueName(prefix), "annotator").annotator();
    }

    @Test
    void submittedRankingBecomesOneDurableRow() throws Exception {
        a.loadCandidates(Fixtures.candidates(dir, 2, 3, null), 2);
        Annotator ann = annotator("alice");
        Item it = a.nextItem(ann).orElseThrow();
        assertEquals(3, it.k());
        SubmitOutcome o = a.submit(ann, new Submission(it.id(), List.of(2, 0, 1), List.of(new RankingEvent.Tie(0, 1)),
                false, List.of(1)));
        SubmitOutcome.Accepted acc = assertInstanceOf(SubmitOutcome.Accepted.class, o);
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        var ds = a.infra().dataSource();
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE event_id = ? AND item_id = ?"
                + " AND annotator_id = ? AND ranking = '{2,0,1}' AND ties = '{0,1}' AND unsafe = '{1}' AND kafka_offset = ?",
                acc.eventId(), it.id(), ann.id(), acc.offset()));
        // the same assignment again: refused before Kafka, nothing stored
        SubmitOutcome dup = a.submit(ann, Submission.ranked(it.id(), List.of(0, 1, 2)));
        assertEquals(409, assertInstanceOf(SubmitOutcome.Refused.class, dup).status());
        // unknown item, not a permutation, not assigned
        assertEquals(404, ((SubmitOutcome.Refused) a.submit(ann, Submission.ranked(999_999, List.of(0, 1)))).status());
        Item other = a.nextItem(ann).orElseThrow();
        SubmitOutcome.Refused bad = (SubmitOutcome.Refused) a.submit(ann, Submission.ranked(other.id(), List.of(0, 0, 1)));
        assertEquals(400, bad.status());
        assertTrue(bad.reason().contains("repeats index 0"), bad.reason());
        Annotator bob = annotator("bob");
        SubmitOutcome.Refused notMine = (SubmitOutcome.Refused) a.submit(bob, Submission.ranked(other.id(), List.of(0, 1, 2)));
        assertEquals(403, notMine.status());
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE annotator_id IN (?, ?)", ann.id(), bob.id()));
    }

    /**
     * A ranking of an item the server never looked up (a tool submitting without fetching it first) is checked
     * against its own length and claimed with the item's K in the same statement: a ranking of another length must
     * still be refused with the reason and claim nothing, and the right one then be accepted and stored once.
     */
    @Test
    void uncachedItemIsCheckedAgainstItsRealNumberOfResponses() throws Exception {
        long item = a.loadCandidates(Fixtures.candidates(dir, 1, 3, null), 1).itemIds().get(0);
        Annotator ann = annotator("direct");
        a.catalog().assign(item, ann.id());
        for (List<Integer> wrong : List.of(List.of(1, 0), List.of(3, 2, 1, 0))) {
            SubmitOutcome.Refused r = assertInstanceOf(SubmitOutcome.Refused.class, a.submit(ann, Submission.ranked(item, wrong)));
            assertEquals(400, r.status(), r.reason());
            assertTrue(r.reason().contains("permutation"), r.reason());
        }
        var ds = a.infra().dataSource();
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM assignments WHERE item_id = ? AND annotator_id = ?"
                + " AND submitted_event_id IS NULL", item, ann.id()), "a refused ranking claims nothing");
        SubmitOutcome.Accepted acc = assertInstanceOf(SubmitOutcome.Accepted.class,
                a.submit(ann, Submission.ranked(item, List.of(2, 0, 1))));
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE item_id = ? AND annotator_id = ?"
                + " AND event_id = ? AND ranking = '{2,0,1}'", item, ann.id(), acc.eventId()));
    }

    @Test
    void eachItemGoesToNDistinctAnnotatorsNeverTwice() throws Exception {
        List<Long> ids = a.loadCandidates(Fixtures.candidates(dir, 1, 2, null), 2).itemIds();
        long item = ids.get(0);
        List<Annotator> anns = List.of(annotator("n1"), annotator("n2"), annotator("n3"));
        Map<Long, Integer> seen = new HashMap<>();
        for (Annotator x : anns) {
            // drain everything else this annotator could get, submitting each, and record who saw our item
            for (int guard = 0; guard < 500; guard++) {
                var next = a.nextItem(x);
                if (next.isEmpty()) {
                    break;
                }
                if (next.get().id() == item) {
                    seen.merge(x.id(), 1, Integer::sum);
                }
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < next.get().k(); i++) {
                    order.add(i);
                }
                assertInstanceOf(SubmitOutcome.Accepted.class, a.submit(x, Submission.ranked(next.get().id(), order)));
            }
        }
        assertEquals(2, seen.size(), "item must go to exactly N=2 annotators: " + seen);
        seen.values().forEach(v -> assertEquals(1, v));
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        assertEquals(2, Fixtures.count(a.infra().dataSource(), "SELECT count(*) FROM ranking_events WHERE item_id = ?", item));
    }

    @Test
    void duplicateEventIdsMakeOneRowAndBadRecordsAreDeadLettered() throws Exception {
        long item = a.loadCandidates(Fixtures.candidates(dir, 1, 2, null), 1).itemIds().get(0);
        Annotator ann = annotator("raw");
        a.catalog().assign(item, ann.id());
        var ds = a.infra().dataSource();
        long rejectedBefore = Fixtures.count(ds, "SELECT count(*) FROM rejected_events");
        UUID id = UUID.randomUUID();
        RankingEvent e = new RankingEvent(id, item, ann.id(), List.of(1, 0), List.of(), false, List.of(), "api", Instant.now());
        assertEquals(seed.annotation.core.Catalog.Claim.CLAIMED, a.catalog().claim(item, ann.id(), id));
        try (RankingProducer p = new RankingProducer(a.infra().kafkaBootstrap(), a.infra().config().topic(), java.util.Map.of(),
                a.signing())) {
            p.send(e).get();
            p.send(e).get(); // the same event twice at another offset: one row, and the copy is refused as a replay
            p.sendSigned("x", "{not json".getBytes(StandardCharsets.UTF_8), "api").get();
            p.send(new RankingEvent(UUID.randomUUID(), 424242, ann.id(), List.of(0, 1), List.of(), false, List.of(), "api", Instant.now())).get();
            p.send(new RankingEvent(UUID.randomUUID(), item, ann.id(), List.of(0, 0), List.of(), false, List.of(), "api", Instant.now())).get();
            p.send(new RankingEvent(UUID.randomUUID(), item, ann.id(), List.of(0, 1), List.of(), false, List.of(), "api", Instant.now())).get();
            Annotator stranger = annotator("stranger");
            p.send(new RankingEvent(UUID.randomUUID(), item, stranger.id(), List.of(0, 1), List.of(), false, List.of(), "api", Instant.now())).get();
        }
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE event_id = ?", id));
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE item_id = ?", item));
        assertEquals(rejectedBefore + 6, Fixtures.count(ds, "SELECT count(*) FROM rejected_events"));
        for (String reason : List.of("malformed JSON", "unknown item 424242", "repeats index 0", "not the claimed submission",
                "is not assigned item", "replay: event " + id + " is already stored from partition")) {
            assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM rejected_events WHERE reason LIKE ? AND id > ?",
                    "%" + reason + "%", rejectedBefore), reason);
        }
        // the same records are on the dead-letter topic, with the reason in a header
        List<String> reasons = new ArrayList<>();
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.infra().kafkaBootstrap());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "dlq-reader-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(a.infra().config().deadLetterTopic()));
            long deadline = System.currentTimeMillis() + 20_000;
            while (reasons.size() < 6 && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    reasons.add(new String(r.headers().lastHeader("seed.reason").value(), StandardCharsets.UTF_8));
                }
            }
        }
        assertTrue(reasons.size() >= 6, "dead-letter topic holds the rejected records: " + reasons);
        assertTrue(reasons.stream().anyMatch(r -> r.contains("malformed JSON")), reasons.toString());
    }

    @Test
    void snapshotFreezesRankingsAndExportsPairs() throws Exception {
        List<Long> ids = a.loadCandidates(Fixtures.candidates(dir, 3, 3, null), 1).itemIds();
        Annotator ann = annotator("snap");
        for (long id : ids) {
            a.catalog().assign(id, ann.id());
        }
        a.submit(ann, new Submission(ids.get(0), List.of(2, 1, 0), List.of(), false, List.of()));
        a.submit(ann, new Submission(ids.get(1), List.of(0, 1, 2), List.of(new RankingEvent.Tie(1, 2)), false, List.of(0)));
        a.submit(ann, new Submission(ids.get(2), List.of(), List.of(), true, List.of()));
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        SnapshotInfo s = a.snapshot(seed.annotation.snapshot.SnapshotScope.all());
        var ds = a.infra().dataSource();
        long accepted = Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE NOT skip AND seq <= ?", s.watermark());
        assertEquals(accepted, s.count());
        assertTrue(Snapshots.verify(s));
        List<String> lines = Files.readAllLines(s.path());
        assertEquals(s.count(), lines.size());
        assertEquals(s.count(), Fixtures.count(ds, "SELECT count(*) FROM snapshot_members WHERE snapshot_id = ?", s.id()));
        // the skipped item is not in the snapshot; the unsafe response 0 is ranked last
        String skippedPrompt = a.catalog().item(ids.get(2)).orElseThrow().prompt();
        assertTrue(lines.stream().noneMatch(l -> l.contains(skippedPrompt)));
        String unsafePrompt = a.catalog().item(ids.get(1)).orElseThrow().prompt();
        JsonNode line = EventCodec.JSON.readTree(lines.stream().filter(l -> l.contains(unsafePrompt)).findFirst().orElseThrow());
        assertEquals("[1,2,0]", line.get("ranking").toString());
        assertEquals("[[1,2]]", line.get("ties").toString());
        // immutable: the database refuses changes, and a new snapshot does not touch the old file
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            assertThrows(SQLException.class, () -> st.execute("UPDATE preference_snapshots SET count = 0 WHERE id = " + s.id()));
            assertThrows(SQLException.class, () -> st.execute("DELETE FROM snapshot_members WHERE snapshot_id = " + s.id()));
        }
        SnapshotInfo s2 = a.snapshot(seed.annotation.snapshot.SnapshotScope.all());
        assertTrue(s2.id() > s.id());
        assertTrue(Snapshots.verify(s));
        // pairs: 3 from the first line (2>1>0), 2 from the second (1=2 tie dropped; 1>0, 2>0)
        Path pairs = dir.resolve("pairs-" + s.id() + ".jsonl");
        long n = Snapshots.exportPairs(s.path(), pairs);
        assertEquals(n, Files.readAllLines(pairs).size());
        assertTrue(Files.readString(pairs).contains("\"chosen\":\"response 1 to prompt"));
    }

    @Test
    void importSendsPairsAndKwiseThroughKafka() throws Exception {
        Path pairs = dir.resolve("import-pairs.jsonl");
        Files.writeString(pairs, """
                {"prompt": "Imported prompt A", "chosen": "good A", "rejected": "bad A"}
                {"chosen": "\\n\\nHuman: hi there\\n\\nAssistant: Hello! How can I help?", "rejected": "\\n\\nHuman: hi there\\n\\nAssistant: go away"}
                """);
        Importer.Result r = Importer.importFile(a, pairs, Importer.Format.PAIRS);
        assertEquals(2, r.accepted());
        Item hh = a.catalog().item(r.itemIds().get(1)).orElseThrow();
        assertEquals("\n\nHuman: hi there\n\nAssistant: ", hh.prompt());
        assertEquals(List.of("Hello! How can I help?", "go away"), hh.responses());
        Path kwise = dir.resolve("import-kwise.jsonl");
        Files.writeString(kwise, "{\"prompt\": \"K prompt\", \"responses\": [\"a\", \"b\", \"c\"], \"ranking\": [1, 2, 0], \"ties\": [[2, 0]]}\n");
        assertEquals(1, Importer.importFile(a, kwise, Importer.Format.KWISE).accepted());
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        var ds = a.infra().dataSource();
        assertEquals(3, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE source = 'import'"));
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events r JOIN annotation_items i ON i.id = r.item_id"
                + " JOIN candidate_sets s ON s.id = i.candidate_set_id WHERE s.checkpoint = 'import:import-kwise.jsonl'"
                + " AND r.ranking = '{1,2,0}' AND r.ties = '{2,0}' AND s.checkpoint_sha256 IS NOT NULL"));
        // a bad line stops the import before anything is sent, naming the line
        Path bad = dir.resolve("import-bad.jsonl");
        Files.writeString(bad, "{\"prompt\": \"ok\", \"chosen\": \"x\", \"rejected\": \"y\"}\n{\"prompt\": \"p\", \"chosen\": \"same\", \"rejected\": \"same\"}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Importer.importFile(a, bad, Importer.Format.PAIRS));
        assertTrue(e.getMessage().contains("import-bad.jsonl:2"), e.getMessage());
        assertEquals(0, Fixtures.count(ds, "SELECT count(*) FROM prompts WHERE text = 'ok'"));
    }

    @Test
    void agreementPerItemAndAgainstGold() throws Exception {
        List<Long> ids = a.loadCandidates(Fixtures.candidates(dir, 2, 4, List.of(3, 2, 1, 0)), 3).itemIds();
        Annotator x = annotator("agree-x");
        Annotator y = annotator("agree-y");
        Annotator z = annotator("agree-z");
        for (long id : ids) {
            for (Annotator w : List.of(x, y, z)) {
                a.catalog().assign(id, w.id());
            }
            a.submit(x, Submission.ranked(id, List.of(3, 2, 1, 0)));
            a.submit(y, Submission.ranked(id, List.of(3, 2, 1, 0)));
            a.submit(z, Submission.ranked(id, List.of(0, 1, 2, 3)));
        }
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        Agreement.Report rep = a.stats();
        for (long id : ids) {
            Agreement.ItemAgreement ia = rep.items().stream().filter(i -> i.itemId() == id).findFirst().orElseThrow();
            assertEquals(3, ia.annotators());
            assertNotNull(ia.kendallW());
            // two identical rankings and one reversed: W = 1/9
            assertEquals(1.0 / 9, ia.kendallW(), 1e-9);
        }
        var ax = rep.annotators().stream().filter(r -> r.annotatorId() == x.id()).findFirst().orElseThrow();
        var az = rep.annotators().stream().filter(r -> r.annotatorId() == z.id()).findFirst().orElseThrow();
        assertEquals(1.0, ax.spearmanWithGold(), 1e-9);
        assertEquals(-1.0, az.spearmanWithGold(), 1e-9);
        assertEquals(-1.0, az.spearmanWithOthers(), 1e-9);
        assertEquals(2, ax.goldItems());
        // identical rankings agree perfectly
        assertEquals(1.0, Agreement.kendallW(List.of(Agreement.ranks(new int[] {0, 1, 2}, new int[0], 3),
                Agreement.ranks(new int[] {0, 1, 2}, new int[0], 3))), 1e-9);
        // a tie averages ranks
        double[] r = Agreement.ranks(new int[] {2, 0, 1}, new int[] {0, 1}, 3);
        assertEquals(2.5, r[0], 1e-9);
        assertEquals(2.5, r[1], 1e-9);
        assertEquals(1.0, r[2], 1e-9);
    }

    @Test
    void candidateFileErrorsNameTheLine() throws Exception {
        Path f = dir.resolve("bad-candidates.jsonl");
        Files.writeString(f, "{\"prompt\": \"p\", \"responses\": [\"a\", \"b\"], \"checkpoint\": \"c\"}\n{\"prompt\": \"p2\", \"responses\": [\"a\"], \"checkpoint\": \"c\"}\n");
        Catalog.LoadException e = assertThrows(Catalog.LoadException.class, () -> a.loadCandidates(f, 1));
        assertTrue(e.getMessage().contains("bad-candidates.jsonl:2") && e.getMessage().contains("responses"), e.getMessage());
        assertEquals(0, Fixtures.count(a.infra().dataSource(), "SELECT count(*) FROM prompts WHERE text = 'p2'"));
    }

    /** --min-gold-agreement: only annotators whose gold rankings agree with the gold order enter the snapshot. */
    @Test
    void goldGateKeepsOutAnnotatorsWhoDisagreeWithGold() throws Exception {
        List<Long> gold = a.loadCandidates(Fixtures.candidates(dir, 3, 3, List.of(0, 1, 2)), 2).itemIds();
        Annotator good = annotator("gold-good");
        Annotator bad = annotator("gold-bad");
        for (long it : gold) {
            a.catalog().assign(it, good.id());
            a.catalog().assign(it, bad.id());
            assertInstanceOf(SubmitOutcome.Accepted.class, a.submit(good, Submission.ranked(it, List.of(0, 1, 2))));
            assertInstanceOf(SubmitOutcome.Accepted.class, a.submit(bad, Submission.ranked(it, List.of(2, 1, 0))));
        }
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        SnapshotInfo s = a.snapshot(seed.annotation.snapshot.SnapshotScope.all(), 0.5);
        List<String> lines = java.nio.file.Files.readAllLines(s.path());
        assertEquals(3, lines.size(), "only the three rankings of the annotator who agrees with gold: " + lines);
        for (String l : lines) {
            String id = seed.annotation.core.EventCodec.JSON.readTree(l).get("event_id").asText();
            assertEquals(good.id(), Fixtures.count(a.infra().dataSource(), "SELECT annotator_id FROM ranking_events WHERE event_id = ?::uuid", id));
        }
        assertEquals(1, Fixtures.count(a.infra().dataSource(), "SELECT count(*) FROM preference_snapshots WHERE id = ?"
                + " AND min_gold_agreement = 0.5 AND ? = ANY (excluded_annotators) AND NOT (? = ANY (excluded_annotators))",
                s.id(), bad.id(), good.id()));
        assertTrue(Snapshots.verify(s));
    }

    /** TRL exports: metadata columns, the conversational form, and one majority line per pair across annotators. */
    @Test
    void trlExportsCarryMetadataAndAggregate() throws Exception {
        long item = a.loadCandidates(Fixtures.candidates(dir, 1, 3, null), 3).itemIds().get(0);
        List<List<Integer>> orders = List.of(List.of(0, 1, 2), List.of(0, 2, 1), List.of(1, 0, 2));
        for (List<Integer> o : orders) {
            Annotator who = annotator("trl");
            a.catalog().assign(item, who.id());
            assertInstanceOf(SubmitOutcome.Accepted.class, a.submit(who, Submission.ranked(item, o)));
        }
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        SnapshotInfo s = a.snapshot(seed.annotation.snapshot.SnapshotScope.all());
        var json = seed.annotation.core.EventCodec.JSON;
        java.util.function.Function<Snapshots.TrlFormat, List<com.fasterxml.jackson.databind.JsonNode>> export = f -> {
            try {
                Path out = dir.resolve("trl-" + f + ".jsonl");
                Snapshots.exportTrl(s.path(), out, f);
                List<com.fasterxml.jackson.databind.JsonNode> mine = new ArrayList<>();
                for (String l : java.nio.file.Files.readAllLines(out)) {
                    var n = json.readTree(l);
                    if (n.get("item_id").asLong() == item) {
                        mine.add(n);
                    }
                }
                return mine;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        List<com.fasterxml.jackson.databind.JsonNode> pairs = export.apply(Snapshots.TrlFormat.PAIRS);
        assertEquals(9, pairs.size(), "3 annotators x 3 pairs");
        for (var p : pairs) {
            assertTrue(p.get("prompt").isTextual() && p.get("prompt_id").asLong() > 0 && p.get("annotator_id").asLong() > 0
                    && p.get("event_id").asText().length() == 36, p.toString());
        }
        var conv = export.apply(Snapshots.TrlFormat.CONVERSATIONAL);
        assertEquals(9, conv.size());
        assertEquals("user", conv.get(0).get("prompt").get(0).get("role").asText());
        assertEquals("assistant", conv.get(0).get("chosen").get(0).get("role").asText());
        var agg = export.apply(Snapshots.TrlFormat.AGGREGATED);
        assertEquals(3, agg.size(), agg.toString());
        String r0 = "response 0 to ";
        for (var p : agg) {
            assertEquals(3, p.get("annotators").asInt());
            if (p.get("rejected").asText().startsWith("response 2")) {
                assertEquals(p.get("chosen").asText().startsWith(r0) ? 3 : 2, p.get("votes_chosen").asInt(), p.toString());
            } else {
                assertTrue(p.get("chosen").asText().startsWith(r0), "0 beats 1 by 2 votes to 1: " + p);
                assertEquals(2, p.get("votes_chosen").asInt());
                assertEquals(1, p.get("votes_rejected").asInt());
            }
        }
    }
}
