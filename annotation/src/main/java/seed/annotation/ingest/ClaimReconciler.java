package seed.annotation.ingest;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.annotation.core.RankingProducer;

/**
 * Gives back claims whose event never reached PostgreSQL, so a crash between the claim and Kafka's acknowledgement
 * (a {@code kill -9} of the API) never strands an assignment at 409 forever. A claim is released only when it is
 * older than the producer's delivery timeout plus a margin (so no producer can still deliver it) AND the ingester
 * group has committed every record that was in the topic at the check's start (so if its event had reached Kafka,
 * it would be in ranking_events now). A late copy of a released event is then refused by the ingester (it is no
 * longer the claimed event). Safe to run from several processes at once: the UPDATE is idempotent.
 */
public final class ClaimReconciler implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ClaimReconciler.class);

    /** Claims younger than this are never touched: the producer's delivery timeout plus 30 s. */
    public static long releaseAfterMs() {
        return Long.getLong("seed.claims.release-after-ms", RankingProducer.deliveryTimeoutMs() + 30_000);
    }

    private final String bootstrap;
    private final Map<String, Object> clientProps;
    private final String topic;
    private final String group;
    private final DataSource ds;
    private ScheduledExecutorService timer;
    /** Claims before this were already checked (DB clock); null until the first full pass. */
    private Timestamp checkedUpTo;

    ClaimReconciler(String bootstrap, Map<String, Object> clientProps, String topic, String group, DataSource ds) {
        this.bootstrap = bootstrap;
        this.clientProps = clientProps;
        this.topic = topic;
        this.group = group;
        this.ds = ds;
    }

    /** Runs {@link #runOnce} every third of the release age (at most every 30 s) on a daemon thread. */
    synchronized void start() {
        long every = Math.max(500, Math.min(30_000, releaseAfterMs() / 3));
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "seed-claim-reconciler");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(() -> {
            try {
                runOnce();
            } catch (Exception e) {
                if (seed.annotation.infra.Infra.jvmShuttingDown()) {
                    log.debug("claim reconciliation skipped at shutdown: {}", e.toString());
                } else {
                    log.warn("claim reconciliation skipped: {}", e.toString());
                }
            }
        }, every, every, TimeUnit.MILLISECONDS);
    }

    /**
     * One pass: when the group is caught up, releases old claims without a stored event.
     *
     * @return claims released, or -1 when the group was not caught up (nothing done)
     */
    public synchronized int runOnce() throws Exception {
        Timestamp now;
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement("SELECT now()");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            now = rs.getTimestamp(1);
        }
        Map<String, Object> ap = new HashMap<>(clientProps);
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(ap)) {
            Map<TopicPartition, Long> ends = Ingester.endOffsets(admin, topic);
            Map<TopicPartition, OffsetAndMetadata> committed =
                    admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            for (var e : ends.entrySet()) {
                OffsetAndMetadata c = committed.get(e.getKey());
                if (e.getValue() > 0 && (c == null || c.offset() < e.getValue())) {
                    log.debug("claims not reconciled: {} committed {} < end {}", e.getKey(), c, e.getValue());
                    return -1;
                }
            }
        }
        Timestamp cutoff = new Timestamp(now.getTime() - releaseAfterMs());
        int released;
        try (Connection c = ds.getConnection();
             // a stranded edit goes back to the ranking it was to replace, a stranded first submission to "not submitted"
             PreparedStatement ps = c.prepareStatement("UPDATE assignments a SET submitted_event_id = a.superseded_event_id,"
                     + " submitted_at = CASE WHEN a.superseded_event_id IS NULL THEN NULL ELSE a.submitted_at END,"
                     + " superseded_event_id = NULL"
                     + " WHERE a.submitted_event_id IS NOT NULL AND a.submitted_at < ? AND a.submitted_at >= ?"
                     + " AND NOT EXISTS (SELECT 1 FROM ranking_events r WHERE r.event_id = a.submitted_event_id)")) {
            ps.setTimestamp(1, cutoff);
            // after the first full pass, only the claims that aged past the cutoff since the last pass (+ a margin)
            ps.setTimestamp(2, checkedUpTo == null ? new Timestamp(0) : new Timestamp(checkedUpTo.getTime() - 60_000));
            released = ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("reconciling claims: " + e.getMessage(), e);
        }
        if (checkedUpTo == null) {
            log.info("first claim reconciliation done: {} stranded claim(s) released", released);
        }
        checkedUpTo = cutoff;
        if (released > 0) {
            log.warn("released {} claim(s) whose event never reached the database (a crash between claim and Kafka ack);"
                    + " those annotators can submit again", released);
        }
        return released;
    }

    @Override
    public synchronized void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}
