package seed.stages.curate;

import java.nio.file.Path;
import java.util.Map;

/**
 * What a curation run produced.
 *
 * @param corpus   the cleaned corpus
 * @param sha256   its SHA-256
 * @param removed  removed.jsonl: one line per dropped document (id, rule, bytes, the document it duplicates)
 * @param rules    rules.tsv: per rule, documents and bytes removed (and documents edited)
 * @param report   report.md: the table, the settings and examples of removed documents
 * @param metrics  name=value numbers (documents and bytes in and out, per-rule counts, MB/s)
 */
public record CurateResult(Path corpus, String sha256, Path removed, Path rules, Path report,
        Map<String, Object> metrics) {
}
