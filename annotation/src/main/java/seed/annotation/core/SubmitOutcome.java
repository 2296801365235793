package seed.annotation.core;

import java.util.UUID;

/** What became of a submission: accepted by Kafka, or refused with an HTTP-style status and the reason. */
public sealed interface SubmitOutcome {

    /**
     * Kafka has the event (acks=all) at this partition and offset. {@code resubmission} is true when the same ranking
     * had already been accepted earlier (an idempotent retry): the ids are then those of the stored event.
     */
    record Accepted(UUID eventId, int partition, long offset, boolean resubmission) implements SubmitOutcome {
        public Accepted(UUID eventId, int partition, long offset) {
            this(eventId, partition, offset, false);
        }
    }

    /**
     * Refused; {@code status} is the 4xx/5xx code the HTTP API answers with. {@code retryAfterSeconds} (0 = none) says
     * when trying again makes sense; {@code eventId} (or null) names the attempt's event when a 503 leaves its fate
     * open (the claim was made and the record sent, but its durability was not confirmed): resubmitting the same
     * ranking is then safe, it is answered as success if that event was stored.
     */
    record Refused(int status, String reason, long retryAfterSeconds, UUID eventId) implements SubmitOutcome {
        public Refused(int status, String reason) {
            this(status, reason, 0, null);
        }
    }
}
