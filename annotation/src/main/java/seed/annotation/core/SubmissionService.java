package seed.annotation.core;

import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * The one path from a submitted ranking to Kafka, used by the HTTP API, the programmatic API (the pipeline's
 * synthetic annotators) and the importer: check the item, the assignment and the content, claim the assignment,
 * produce with acks=all, and only then answer. Nothing is stored for a refused submission.
 */
public final class SubmissionService {

    /** -Dseed.submit.trace=true prints claim and Kafka-ack times per submission to stderr. */
    private static final boolean TRACE = Boolean.getBoolean("seed.submit.trace");

    private final Catalog catalog;
    private final RankingProducer producer;
    private final long ackTimeoutMs;
    private final WalFlusher flusher;

    /** Waits for the acknowledgement a little longer than the producer tries to deliver, so a 503 is final. */
    public SubmissionService(Catalog catalog, RankingProducer producer) {
        this(catalog, producer, RankingProducer.deliveryTimeoutMs() + 5_000);
    }

    public SubmissionService(Catalog catalog, RankingProducer producer, long ackTimeoutMs) {
        this(catalog, producer, ackTimeoutMs, null);
    }

    /**
     * @param flusher makes the (asynchronously committed) claim durable before the answer, in parallel with the
     *                Kafka send; null when claims commit synchronously anyway
     */
    public SubmissionService(Catalog catalog, RankingProducer producer, long ackTimeoutMs, WalFlusher flusher) {
        this.flusher = flusher;
        this.catalog = catalog;
        this.producer = producer;
        this.ackTimeoutMs = ackTimeoutMs;
    }

    public Catalog catalog() {
        return catalog;
    }

    /** Submits on behalf of {@code who}; blocks until Kafka acknowledged or refused. */
    public SubmitOutcome submit(Annotator who, Submission s, String source) {
        if (!EventCodec.SOURCES.contains(source)) {
            throw new IllegalArgumentException("source must be one of " + EventCodec.SOURCES + ", got " + source);
        }
        var item = catalog.item(s.itemId());
        if (item.isEmpty()) {
            return new SubmitOutcome.Refused(404, "unknown item " + s.itemId());
        }
        String bad = RankingRules.check(s.ranking(), s.ties(), s.skip(), s.unsafe(), item.get().k());
        if (bad == null) {
            bad = RankingEvent.checkComment(s.comment());
        }
        if (bad != null) {
            return new SubmitOutcome.Refused(400, bad);
        }
        UUID eventId = EventIds.next();
        long t0 = System.nanoTime();
        switch (catalog.claim(s.itemId(), who.id(), eventId)) {
            case NOT_ASSIGNED -> {
                return new SubmitOutcome.Refused(403, "item " + s.itemId() + " is not assigned to annotator " + who.name());
            }
            case ALREADY_SUBMITTED -> {
                return new SubmitOutcome.Refused(409, "item " + s.itemId() + " was already submitted by annotator " + who.name());
            }
            case CLAIMED -> {
                // fall through to produce
            }
        }
        long t1 = System.nanoTime();
        RankingEvent e = new RankingEvent(eventId, s.itemId(), who.id(), s.ranking(), s.ties(), s.skip(), s.unsafe(),
                source, Instant.now(), s.comment());
        try {
            java.util.concurrent.CompletableFuture<RecordMetadata> sent = producer.send(e);
            if (flusher != null) {
                try {
                    flusher.flush().get(ackTimeoutMs, TimeUnit.MILLISECONDS);
                } catch (ExecutionException | TimeoutException ex) {
                    // the claim may not be durable: do not acknowledge; if it was lost, the ingester refuses the
                    // event as unclaimed, and if not, a retry is told it is already submitted
                    return new SubmitOutcome.Refused(503, "the database did not confirm the claim; try again");
                }
            }
            RecordMetadata md = sent.get(ackTimeoutMs, TimeUnit.MILLISECONDS);
            if (TRACE) {
                System.err.printf("submit claim=%.2fms kafka=%.2fms%n", (t1 - t0) / 1e6, (System.nanoTime() - t1) / 1e6);
            }
            return new SubmitOutcome.Accepted(eventId, md.partition(), md.offset());
        } catch (ExecutionException | TimeoutException ex) {
            // the producer gave up (delivery timeout passed): give the claim back so the annotator can retry; if a
            // copy still lands, the ingester refuses it as no longer the claimed event
            catalog.releaseClaim(s.itemId(), who.id(), eventId);
            Throwable cause = ex instanceof ExecutionException ? ex.getCause() : ex;
            return new SubmitOutcome.Refused(503, "Kafka did not acknowledge the ranking: " + cause);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            catalog.releaseClaim(s.itemId(), who.id(), eventId);
            return new SubmitOutcome.Refused(503, "interrupted while waiting for Kafka");
        }
    }
}
