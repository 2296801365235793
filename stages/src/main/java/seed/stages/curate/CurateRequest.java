package seed.stages.curate;

import java.nio.file.Path;
import java.util.List;

/**
 * One curation run.
 *
 * @param in            raw documents: a file or folder (text files, JSONL {"text"})
 * @param out           the corpus to write (a {@code .jsonl} name writes {"id", "text"} lines; anything else plain
 *                      text, documents separated by a blank line)
 * @param reportDir     where removed.jsonl, rules.tsv and report.md go (null = {@code <out>.curate/} beside it)
 * @param decontaminate held-out and evaluation files whose n-grams must not appear in the corpus
 * @param keywords      a word list (one a line): documents with any of them are dropped (null = none)
 * @param regexes       regular expressions: documents with a match are dropped
 * @param settings      every threshold
 */
public record CurateRequest(Path in, Path out, Path reportDir, List<Path> decontaminate, Path keywords,
        List<String> regexes, CurateSettings settings) {

    public CurateRequest {
        decontaminate = decontaminate == null ? List.of() : List.copyOf(decontaminate);
        regexes = regexes == null ? List.of() : List.copyOf(regexes);
        settings = settings == null ? CurateSettings.defaults() : settings;
        reportDir = reportDir != null ? reportDir : out.resolveSibling(out.getFileName() + ".curate");
    }
}
