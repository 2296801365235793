package seed.annotation.core;

/** A person (or importer) allowed to rank; {@code role} is "annotator", "operator" or "importer". */
public record Annotator(long id, String name, String role) {

    public boolean isOperator() {
        return "operator".equals(role);
    }
}
