package seed.annotation.core;

import java.util.List;

/**
 * A person (or importer) with a personal token and one role. The role decides what every Seed HTTP surface lets the
 * token do: {@code annotator} ranks its own assignments; {@code operator} manages (loads candidates, reads stats and
 * progress) but does not rank; {@code auditor} reads stats and changes nothing; {@code importer} submits existing
 * preference data through the same path as people.
 */
public record Annotator(long id, String name, String role) {

    public static final String ANNOTATOR = "annotator";
    public static final String OPERATOR = "operator";
    public static final String AUDITOR = "auditor";
    public static final String IMPORTER = "importer";

    /** Every role, in the order the CLI lists them. */
    public static final List<String> ROLES = List.of(ANNOTATOR, OPERATOR, AUDITOR, IMPORTER);

    public boolean isOperator() {
        return OPERATOR.equals(role);
    }

    public boolean isAuditor() {
        return AUDITOR.equals(role);
    }

    /** Whether this identity may submit rankings (people who rank and the importer). */
    public boolean mayRank() {
        return ANNOTATOR.equals(role) || IMPORTER.equals(role);
    }

    /** Whether this identity may read agreement statistics (operators and auditors). */
    public boolean mayReadStats() {
        return OPERATOR.equals(role) || AUDITOR.equals(role);
    }
}
