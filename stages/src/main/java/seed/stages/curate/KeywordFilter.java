package seed.stages.curate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Optional filters: a word list (one word a line, e.g. an offensive-word list; matched on normalised words, so case
 * and surrounding punctuation do not matter, by hash lookups rather than a regex) and regular expressions; a
 * document with any match is dropped.
 */
final class KeywordFilter {

    private final LongIntMap words = new LongIntMap(64);
    private final List<Pattern> patterns = new ArrayList<>();

    KeywordFilter(Path wordList, List<String> regexes) throws IOException {
        if (wordList != null) {
            for (String line : Files.readAllLines(wordList, StandardCharsets.UTF_8)) {
                long h = Words.normalisedHash(line.strip());
                if (h != 0) {
                    words.addKey(h);
                }
            }
        }
        for (String r : regexes) {
            try {
                patterns.add(Pattern.compile(r));
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("--filter-regex '" + r + "' is not a valid regular expression: "
                        + e.getDescription());
            }
        }
    }

    /** The filter that drops the document, or null. */
    String check(Words w) {
        if (words.size() > 0) {
            for (int i = 0; i < w.normalCount; i++) {
                if (words.contains(w.normal[i])) {
                    return "keyword";
                }
            }
        }
        for (Pattern p : patterns) {
            if (p.matcher(w.text).find()) {
                return "regex";
            }
        }
        return null;
    }
}
