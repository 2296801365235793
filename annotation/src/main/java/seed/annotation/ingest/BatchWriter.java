package seed.annotation.ingest;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.annotation.core.EventCodec;

/**
 * Writes one part of a decoded batch in one transaction: the fast COPY when every row is its assignment's claimed
 * event, else the staging path that names each refusal; then the refusals into {@code rejected_events}, the commit,
 * and the dead letters (awaited). Split out of {@link Ingester} (issue 19); the consumer loop, offsets and
 * rebalances stay there.
 */
final class BatchWriter {

    private static final Logger log = LoggerFactory.getLogger(Ingester.class);

    /**
     * Fault-injection knob for tests: sleep this long before each part's DB commit (a process killed during it must
     * leave no row of that batch). 0 normally.
     */
    private static final long PAUSE_BEFORE_COMMIT_MS = Long.getLong("seed.ingest.pause-before-commit-ms", 0);

    /** -Dseed.ingest.trace=true prints per-batch timings (decode+copy, insert, commit) to stderr. */
    private static final boolean TRACE = Boolean.getBoolean("seed.ingest.trace");

    /** -Dseed.ingest.fast-copy=false forces the staging path for every batch (for comparison). */
    private static final boolean FAST_COPY = !"false".equals(System.getProperty("seed.ingest.fast-copy"));

    private final Ingester.BatchListener listener;
    private final KafkaProducer<String, byte[]> dlq;
    private final String dlqTopic;
    private final java.util.function.Consumer<String> onRejection;

    /** @param onRejection told the last refusal of each batch ("topic/partition@offset: reason"), for /health */
    BatchWriter(Ingester.BatchListener listener, KafkaProducer<String, byte[]> dlq, String dlqTopic,
                java.util.function.Consumer<String> onRejection) {
        this.listener = listener;
        this.dlq = dlq;
        this.dlqTopic = dlqTopic;
        this.onRejection = onRejection;
    }

    /**
     * Writes one part of a prepared batch in one transaction, then dead-letters its refusals (the decode-stage
     * refusals go with part 0) and waits until the dead-letter topic has them. Runs on a writer thread; returns
     * {inserted, rejected}. When the database refuses a record's data (a CHECK, a value out of range), the part is
     * rolled back and written again one row at a time, so the bad row is dead-lettered with the database's reason and
     * every other row is stored. Transient and other failures roll back and propagate.
     */
    int[] write(Connection db, BatchDecoder.Prepared p, int part) throws Exception {
        try {
            return writeOnce(db, p, part, false);
        } catch (SQLException e) {
            rollbackQuietly(db);
            if (Ingester.classify(e) != Ingester.Failure.DATA) {
                throw e;
            }
            log.warn("database refused a record's data in a batch of {} ({}); writing that part row by row to find it",
                    p.valid()[part], e.getMessage());
            try {
                return writeOnce(db, p, part, true);
            } catch (Exception again) {
                rollbackQuietly(db);
                throw again;
            }
        } catch (Exception e) {
            rollbackQuietly(db);
            throw e;
        }
    }

    private static void rollbackQuietly(Connection db) {
        try {
            db.rollback();
        } catch (SQLException e) {
            log.debug("rollback: {}", e.toString());
        }
    }

    private int[] writeOnce(Connection db, BatchDecoder.Prepared p, int part, boolean rowByRow) throws Exception {
        long tStart = System.nanoTime();
        long tCopy = tStart;
        long tInsert = tStart;
        List<ConsumerRecord<String, byte[]>> all = p.all();
        List<Refusals.Reject> rejects = part == 0 ? new ArrayList<>(p.rejects()) : new ArrayList<>();
        int insertedNow = 0;
        boolean fast = false;
        if (!rowByRow && p.valid()[part] > 0 && FAST_COPY
                && p.claimed() != null && p.claimed()[part]) {
            // Fast path (the common case): every row is the event its assignment claimed (the decoder asked the
            // database for the whole batch; unknown means the careful path, which checks it itself); COPY straight into
            // ranking_events. Any duplicate (redelivery, repeated event id) makes the COPY fail on a unique index;
            // then the savepoint undoes it and the staging path below sorts the batch out row by row.
            Savepoint sp = db.setSavepoint();
            try {
                CopyRows.copyIn(db, "COPY ranking_events(event_id, item_id, annotator_id, ranking, ties, skip, unsafe, source,"
                        + " submitted_at, kafka_partition, kafka_offset, payload_mac, comment, supersedes, strengths) FROM STDIN"
                        + p.copyOptions(), p.copyData()[part]);
                db.releaseSavepoint(sp);
                insertedNow = p.valid()[part];
                fast = true;
            } catch (SQLException e) {
                if (!"23505".equals(e.getSQLState())) {
                    throw e;
                }
                db.rollback(sp);
            }
            tCopy = System.nanoTime();
            tInsert = tCopy;
        }
        if (p.valid()[part] > 0 && !fast) {
            if (!rowByRow) {
                insertedNow = carefulInsert(db, p.copyOptions(), p.copyData()[part], p.byOffsetKey(part), rejects);
                tCopy = System.nanoTime();
                tInsert = tCopy;
            } else {
                Map<Long, ConsumerRecord<String, byte[]>> byOffsetKey = p.byOffsetKey(part);
                for (int i = 0; i < p.valid()[part]; i++) {
                    byte[] line = p.row(part, i);
                    Savepoint sp = db.setSavepoint();
                    try {
                        insertedNow += carefulInsert(db, p.copyOptions(), line, byOffsetKey, rejects);
                        try (Statement st = db.createStatement()) {
                            st.execute("DELETE FROM ranking_staging");
                        }
                        db.releaseSavepoint(sp);
                    } catch (SQLException e) {
                        db.rollback(sp);
                        if (Ingester.classify(e) != Ingester.Failure.DATA) {
                            throw e;
                        }
                        ConsumerRecord<String, byte[]> r = p.rows()[part][i];
                        rejects.add(new Refusals.Reject(r, p.eventIds()[part][i].toString(), "the database refused the record: "
                                + EventCodec.firstLine(e.getMessage())));
                    }
                }
            }
        }
        if (!rejects.isEmpty()) {
            try (PreparedStatement ps = db.prepareStatement("INSERT INTO rejected_events(kafka_topic, kafka_partition,"
                    + " kafka_offset, event_id, payload, reason) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
                for (Refusals.Reject r : rejects) {
                    ps.setString(1, r.rec().topic());
                    ps.setInt(2, r.rec().partition());
                    ps.setLong(3, r.rec().offset());
                    ps.setString(4, r.eventId());
                    ps.setString(5, Refusals.storedPayload(r.rec().value()));
                    ps.setString(6, r.reason().replace("\u0000", "\\u0000"));
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        long tBeforeCommit = System.nanoTime();
        if (listener != null) {
            listener.beforeCommit(part, insertedNow);
        }
        if (PAUSE_BEFORE_COMMIT_MS > 0) {
            Thread.sleep(PAUSE_BEFORE_COMMIT_MS);
        }
        db.commit();
        if (TRACE) {
            long tEnd = System.nanoTime();
            System.err.printf("t=%d part=" + part + " batch n=%d decode=%.1fms copy=%.1fms insert=%.1fms commit=%.1fms write=%.1fms%n",
                    System.currentTimeMillis() % 100000, all.size(), p.decodeNanos() / 1e6, (tCopy - tStart) / 1e6,
                    (tInsert - tCopy) / 1e6, (tEnd - tBeforeCommit) / 1e6, (tEnd - tStart) / 1e6);
        }
        if (!rejects.isEmpty()) {
            // refusals are an operator's business (forged, replayed or broken records): log them, capped per batch
            for (int i = 0; i < Math.min(3, rejects.size()); i++) {
                Refusals.Reject r = rejects.get(i);
                log.warn("refused record {}/{}@{} (event {}): {}", r.rec().topic(), r.rec().partition(), r.rec().offset(),
                        r.eventId(), EventCodec.firstLine(r.reason()));
            }
            if (rejects.size() > 3) {
                log.warn("... and {} more refused records in this batch (see rejected_events)", rejects.size() - 3);
            }
            Refusals.Reject last = rejects.get(rejects.size() - 1);
            String lastRejection = last.rec().topic() + "/" + last.rec().partition() + "@" + last.rec().offset() + ": "
                    + EventCodec.firstLine(last.reason());
            onRejection.accept(lastRejection);
            // After the DB commit, before the offset commit: a crash here re-sends on replay (at-least-once DLQ).
            // Every send is awaited: a dead letter that did not arrive fails the batch (retried), so the offsets
            // never move past a refusal that only PostgreSQL knows about.
            List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> sent = new ArrayList<>();
            for (Refusals.Reject r : rejects) {
                sent.add(dlq.send(Refusals.deadLetter(dlqTopic, r)));
            }
            for (var f : sent) {
                try {
                    f.get(60, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof Exception ex ? ex : e;
                }
            }
        }
        return new int[] {insertedNow, rejects.size()};
    }

    /**
     * The staging path: COPY into the temp table, insert the rows that are their assignment's claimed event (no
     * conflict), and name the reason of every other row that is not a plain redelivery. Returns rows inserted.
     */
    private static int carefulInsert(Connection db, String copyOptions, byte[] copyData,
                                     Map<Long, ConsumerRecord<String, byte[]>> byOffsetKey, List<Refusals.Reject> rejects)
            throws SQLException {
        CopyRows.copyIn(db, "COPY ranking_staging FROM STDIN" + copyOptions, copyData);
        int n;
        try (Statement st = db.createStatement()) {
            n = st.executeUpdate("INSERT INTO ranking_events(event_id, item_id, annotator_id, ranking, ties,"
                    + " skip, unsafe, source, submitted_at, kafka_partition, kafka_offset, payload_mac, comment, supersedes,"
                    + " strengths)"
                    + " SELECT s.event_id, s.item_id, s.annotator_id, s.ranking, s.ties, s.skip, s.unsafe, s.source,"
                    + " s.submitted_at, s.kafka_partition, s.kafka_offset, s.payload_mac, s.comment, s.supersedes,"
                    + " s.strengths FROM ranking_staging s"
                    + " WHERE EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = s.item_id AND a.annotator_id = s.annotator_id"
                    + "   AND a.submitted_event_id = s.event_id)"
                    + " ON CONFLICT DO NOTHING");
            // Everything that is not now stored exactly as staged (same event id, same content) is refused, with why.
            try (ResultSet rs = st.executeQuery("SELECT * FROM (SELECT s.kafka_partition, s.kafka_offset, s.event_id::text, CASE"
                    + " WHEN e.event_id IS NOT NULL AND e.payload_mac IS DISTINCT FROM s.payload_mac"
                    + "   THEN 'event id ' || s.event_id || ' was already stored with different content'"
                    + " WHEN e.event_id IS NOT NULL AND (e.item_id <> s.item_id OR e.annotator_id <> s.annotator_id)"
                    + "   THEN 'event id ' || s.event_id || ' is already used by another ranking'"
                    // a redelivery has the stored record's own position; the same bytes elsewhere were produced twice
                    + " WHEN e.event_id IS NOT NULL AND (e.kafka_partition <> s.kafka_partition OR e.kafka_offset <> s.kafka_offset)"
                    + "   THEN 'replay: event ' || s.event_id || ' is already stored from partition ' || e.kafka_partition"
                    + "     || ' offset ' || e.kafka_offset"
                    // a stored event was accepted once: its redelivery is a duplicate even when an edit has since moved
                    // the assignment's claim to a newer event (so the claim is checked only for events not stored)
                    + " WHEN e.event_id IS NOT NULL THEN NULL"
                    + " WHEN a.item_id IS NULL"
                    + "   THEN 'annotator ' || s.annotator_id || ' is not assigned item ' || s.item_id"
                    + " WHEN a.submitted_event_id IS NULL"
                    + "   THEN 'event ' || s.event_id || ' was not accepted by the API: the assignment of item ' || s.item_id"
                    + "     || ' to annotator ' || s.annotator_id || ' has no claimed submission'"
                    + " WHEN a.submitted_event_id <> s.event_id"
                    + "   THEN 'event ' || s.event_id || ' was not accepted by the API: it is not the claimed submission of item '"
                    + "     || s.item_id || ' by annotator ' || s.annotator_id"
                    + " WHEN r.event_id IS NOT NULL AND r.event_id <> s.event_id"
                    + "   THEN 'duplicate submission: annotator ' || s.annotator_id || ' already ranked item ' || s.item_id"
                    + " END AS reason"
                    + " FROM ranking_staging s"
                    + " LEFT JOIN assignments a ON a.item_id = s.item_id AND a.annotator_id = s.annotator_id"
                    + " LEFT JOIN ranking_events e ON e.event_id = s.event_id"
                    // the same place in the (item, annotator) chain: the original, or the edit of the same event
                    + " LEFT JOIN ranking_events r ON r.item_id = s.item_id AND r.annotator_id = s.annotator_id"
                    + "   AND r.supersedes IS NOT DISTINCT FROM s.supersedes) x"
                    + " WHERE reason IS NOT NULL")) {
                while (rs.next()) {
                    ConsumerRecord<String, byte[]> r = byOffsetKey.get(CopyRows.key(rs.getInt(1), rs.getLong(2)));
                    rejects.add(new Refusals.Reject(r, rs.getString(3), rs.getString(4)));
                }
            }
        }
        return n;
    }
}
