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

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SubmissionService.class);

    /** -Dseed.submit.trace=true prints claim and Kafka-ack times per submission to stderr. */
    private static final boolean TRACE = Boolean.getBoolean("seed.submit.trace");

    private final Catalog catalog;
    private final RankingProducer producer;
    private final long ackTimeoutMs;
    private final WalFlusher flusher;
    private final SubmitPhases phases = new SubmitPhases();

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

    /** Per-phase timings of the submissions so far (see {@code seed bench submit}). */
    public SubmitPhases phases() {
        return phases;
    }

    /**
     * A second submission for an assignment that is already claimed. The same ranking as the stored one is answered
     * as success with the stored event (idempotent: a client retrying after a lost answer or a 503 is not stuck); a
     * different one is 409; while the claimed event is not stored yet (on its way through Kafka, or stranded by a
     * crash until the {@code ClaimReconciler} releases it) the answer is 409 "in progress" with when to retry.
     */
    private SubmitOutcome alreadyClaimed(Annotator who, Submission s) {
        var existing = catalog.existingClaim(s.itemId(), who.id());
        if (existing.isEmpty()) {
            // released between the claim attempt and this read: the caller may simply try again
            return new SubmitOutcome.Refused(409, "item " + s.itemId() + " was being released; submit again", 1, null);
        }
        Catalog.ExistingClaim c = existing.get();
        if (c.stored() != null) {
            if (c.stored().sameAs(s)) {
                return new SubmitOutcome.Accepted(c.stored().eventId(), c.stored().partition(), c.stored().offset(), true);
            }
            return new SubmitOutcome.Refused(409, s.supersedes() == null
                    ? "item " + s.itemId() + " was already submitted by annotator " + who.name() + " with a different"
                    + " ranking; to change it, edit the stored one (event " + c.stored().eventId() + ")"
                    : "event " + s.supersedes() + " is not the current ranking of item " + s.itemId() + " by annotator "
                    + who.name() + " (that is event " + c.stored().eventId() + "); edit the current one");
        }
        long releaseAfter = seed.annotation.ingest.ClaimReconciler.releaseAfterMs();
        long waitMs = c.ageMs() < ackTimeoutMs ? 2_000
                : Math.max(2_000, releaseAfter - c.ageMs() + Math.min(30_000, releaseAfter / 3));
        long secs = (waitMs + 999) / 1000;
        return new SubmitOutcome.Refused(409, "the submission of item " + s.itemId() + " by annotator " + who.name()
                + " is in progress (claimed " + c.ageMs() / 1000 + " s ago, not stored yet); retry in " + secs
                + " s: the same ranking is then accepted once it is stored, and a claim whose ranking never arrives"
                + " is released within " + (releaseAfter + Math.min(30_000, releaseAfter / 3)) / 1000 + " s of it", secs, null);
    }

    /** What is wrong with the submission for an item of {@code k} responses, or null. */
    private static String problem(Submission s, int k) {
        String bad = RankingRules.check(s.ranking(), s.ties(), s.skip(), s.unsafe(), k);
        if (bad == null) {
            bad = RankingRules.checkStrengths(s.ranking(), s.ties(), s.skip(), s.strengths());
        }
        return bad != null ? bad : RankingEvent.checkComment(s.comment());
    }

    /** Submits on behalf of {@code who}; blocks until Kafka acknowledged or refused. */
    public SubmitOutcome submit(Annotator who, Submission s, String source) {
        if (!EventCodec.SOURCES.contains(source)) {
            throw new IllegalArgumentException("source must be one of " + EventCodec.SOURCES + ", got " + source);
        }
        long tCheck = System.nanoTime();
        UUID eventId = EventIds.next();
        // a plain ranking of an item not cached yet: checked against K = its length, then claimed with the item's K
        // verified in the same statement (one round trip); anything else, or a claim that did not happen, takes the
        // full path below, which looks the item up and names the reason
        boolean fast = s.supersedes() == null && !s.skip() && s.ranking() != null && !s.ranking().isEmpty()
                && catalog.cachedItem(s.itemId()) == null && problem(s, s.ranking().size()) == null;
        long t0 = System.nanoTime();
        phases.record(SubmitPhases.Phase.CHECK, t0 - tCheck);
        Catalog.Claim claim;
        if (fast && catalog.claimWithK(s.itemId(), who.id(), s.ranking().size(), eventId)) {
            claim = Catalog.Claim.CLAIMED;
        } else {
            var item = catalog.item(s.itemId());
            if (item.isEmpty()) {
                return new SubmitOutcome.Refused(404, "unknown item " + s.itemId());
            }
            String bad = problem(s, item.get().k());
            if (bad != null) {
                return new SubmitOutcome.Refused(400, bad);
            }
            claim = s.supersedes() == null ? catalog.claim(s.itemId(), who.id(), eventId)
                    : catalog.claimEdit(s.itemId(), who.id(), s.supersedes(), eventId);
        }
        switch (claim) {
            case NOT_ASSIGNED -> {
                return new SubmitOutcome.Refused(403, "item " + s.itemId() + " is not assigned to annotator " + who.name());
            }
            case ALREADY_SUBMITTED -> {
                return alreadyClaimed(who, s);
            }
            case CLAIMED -> {
                // fall through to produce
            }
        }
        long t1 = System.nanoTime();
        phases.record(SubmitPhases.Phase.CLAIM, t1 - t0);
        RankingEvent e = new RankingEvent(eventId, s.itemId(), who.id(), s.ranking(), s.ties(), s.skip(), s.unsafe(),
                source, Instant.now(), s.comment(), s.supersedes(), s.strengths());
        try {
            java.util.concurrent.CompletableFuture<RecordMetadata> sent = producer.send(e);
            phases.record(SubmitPhases.Phase.SEND, System.nanoTime() - t1);
            sent.whenComplete((md, ex) -> phases.record(SubmitPhases.Phase.KAFKA_ACK, System.nanoTime() - t1));
            if (flusher != null) {
                String unconfirmed = null;
                try {
                    long tf = System.nanoTime();
                    java.util.concurrent.CompletableFuture<Boolean> flushed = flusher.flush();
                    flushed.whenComplete((ok, ex) -> phases.record(SubmitPhases.Phase.WAL_FLUSH, System.nanoTime() - tf));
                    boolean sameServer = flushed.get(ackTimeoutMs, TimeUnit.MILLISECONDS);
                    // the flush ran on a new connection (e.g. after a database restart): it proves nothing about the
                    // old server, so read the claim back; a row seen after the flush is durable
                    if (!sameServer && !catalog.holdsClaim(s.itemId(), who.id(), eventId)) {
                        return new SubmitOutcome.Refused(503, "the database restarted and lost the claim of item "
                                + s.itemId() + "; submit again", 1, null);
                    }
                } catch (ExecutionException | TimeoutException | IllegalStateException ex) {
                    unconfirmed = ex instanceof ExecutionException ? String.valueOf(ex.getCause()) : ex.toString();
                }
                if (unconfirmed != null) {
                    // the claim may or may not be durable and the record is on its way: do not acknowledge, and say
                    // that resubmitting the same ranking is safe (it is answered as success if this one is stored)
                    // the cause goes to the log, not to the client (no internals in answers)
                    LOG.warn("claim of item {} by {} (event {}) not confirmed durable: {}", s.itemId(), who.name(), eventId,
                            EventCodec.firstLine(unconfirmed));
                    return new SubmitOutcome.Refused(503, "the database did not confirm the claim; submit the same"
                            + " ranking again: it is accepted once, never stored twice", 2, eventId);
                }
            }
            RecordMetadata md = sent.get(ackTimeoutMs, TimeUnit.MILLISECONDS);
            phases.record(SubmitPhases.Phase.WAIT, System.nanoTime() - t1);
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
