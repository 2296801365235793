package seed.workflows.lineage;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One row of the append-only ledger ({@code lineage_records}) as stored: the canonical body that was hashed and
 * signed, the hash of the previous row (the chain), the signing key and the signature. The indexed columns
 * (event, execution, task run, stage) are copies of body fields for SQL lookups; verification checks they agree.
 */
public record LineageRecord(long seq, Event event, String executionId, String taskRunId, String stage, String body,
        String prevSha256, String sha256, String keyId, String signature) {

    /** The OpenLineage-style event a record stands for. */
    public enum Event {
        START, COMPLETE, FAIL, ABORT;

        static Event of(TaskRunRecord.Status s) {
            return switch (s) {
                case RUNNING -> START;
                case SUCCESS -> COMPLETE;
                case FAILED -> FAIL;
                case KILLED -> ABORT;
            };
        }
    }

    /** The previous hash of the first record. */
    public static final String GENESIS = "0".repeat(64);

    public JsonNode bodyJson() {
        return CanonicalJson.read(body);
    }

    /** The task run as recorded in the (signed) body, not the columns. */
    public TaskRunRecord run() {
        return RecordCodec.fromJson(bodyJson().path("run"));
    }

    /** What a human reads to find this record: "record 12 (COMPLETE of sft, task run X, execution Y)". */
    public String describe() {
        return "lineage record " + seq + " (" + event + " of " + stage + ", task run " + taskRunId + ", execution "
                + executionId + ")";
    }
}
