package seed.workflows.lineage;

/**
 * One thing {@code seed lineage verify} found wrong, naming what (a record, an artifact, a snapshot) and why.
 *
 * @param kind    the check that failed
 * @param subject what failed it ("lineage record 7 (COMPLETE of sft ...)", "artifact corpus at /x of pretrain")
 * @param detail  expected vs found
 */
public record Problem(Kind kind, String subject, String detail) {

    /** The checks. */
    public enum Kind {
        /** A record's stored SHA-256 is not the hash of its body. */
        RECORD_HASH,
        /** A record does not follow the one before it (gap, or prev hash differs). */
        CHAIN,
        /** A record's indexed columns differ from its signed body. */
        COLUMNS,
        /** The signature does not verify with the named key. */
        SIGNATURE,
        /** The record names a key that is not in lineage_keys. */
        UNKNOWN_KEY,
        /** The key is in the database but neither the witness nor the local key folder vouches for it. */
        UNTRUSTED_KEY,
        /** The witness topic holds a different hash for the record. */
        WITNESS_MISMATCH,
        /** The record was never witnessed. */
        NOT_WITNESSED,
        /** The witness holds a record the database lacks. */
        WITNESS_ONLY,
        /** The witness cannot be read (topic missing, Kafka unreachable or not configured). */
        NO_WITNESS,
        /** An artifact's file or folder no longer exists. */
        ARTIFACT_MISSING,
        /** An artifact's content no longer has its recorded SHA-256. */
        ARTIFACT_CHANGED,
        /** A snapshot's members, annotators or file hash in PostgreSQL differ from what the record embedded. */
        SNAPSHOT_CHANGED,
        /** Two completed records of one artifact store address claim different outputs (a reused folder was changed). */
        STORE_CONFLICT,
        /** A reused stage's record names a producing record that is not the completed run at its store address. */
        REUSE_MISMATCH,
        /** The witness log does not start at offset 0 or has a gap in its offsets: part of it was deleted. */
        WITNESS_TRUNCATED,
        /** The chain head differs from the one the auditor kept ({@code --expect-head}). */
        HEAD_MISMATCH,
        /** No auditor-pinned key: signatures were checked, but against keys the database or the witness offered. */
        NO_TRUSTED_KEY
    }

    public String message() {
        return kind + ": " + subject + ": " + detail;
    }
}
