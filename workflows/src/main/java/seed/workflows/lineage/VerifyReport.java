package seed.workflows.lineage;

import java.util.List;

/**
 * The outcome of verifying a target: every problem found, in the order checked (records, witness, artifacts,
 * snapshots), and what was covered.
 *
 * @param recordsChecked   ledger records re-hashed and signature-checked (the whole chain)
 * @param witnessHead      newest witnessed seq (0 when the witness could not be read)
 * @param taskRuns         task runs in the target's upstream tree
 * @param artifactsChecked distinct artifacts re-hashed
 * @param notes            what the result rests on (how keys were trusted, whether the witness is independent)
 */
public record VerifyReport(String target, List<Problem> problems, int recordsChecked, long witnessHead, int taskRuns,
        int artifactsChecked, List<String> notes) {

    public VerifyReport {
        notes = notes == null ? List.of() : List.copyOf(notes);
    }

    public boolean ok() {
        return problems.isEmpty();
    }

    /** The first problem, or null when verification passed. */
    public Problem first() {
        return problems.isEmpty() ? null : problems.get(0);
    }
}
