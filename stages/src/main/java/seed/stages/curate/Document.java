package seed.stages.curate;

/** One raw document: where it came from ({@code file:index} or its JSONL "id") and its text. */
public record Document(String id, String text) {
}
