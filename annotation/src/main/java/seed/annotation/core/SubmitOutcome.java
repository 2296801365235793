package seed.annotation.core;

import java.util.UUID;

/** What became of a submission: accepted by Kafka, or refused with an HTTP-style status and the reason. */
public sealed interface SubmitOutcome {

    /** Kafka has the event (acks=all) at this partition and offset. */
    record Accepted(UUID eventId, int partition, long offset) implements SubmitOutcome {
    }

    /** Refused before anything was stored; {@code status} is the 4xx/5xx code the HTTP API answers with. */
    record Refused(int status, String reason) implements SubmitOutcome {
    }
}
