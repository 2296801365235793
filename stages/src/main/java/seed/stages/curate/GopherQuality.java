package seed.stages.curate;

/**
 * Gopher's quality rules (Rae et al. 2021, appendix A; datatrove's {@code GopherQualityFilter} defaults): a document
 * is dropped for too few or too many words, an odd mean word length, many "#" or ellipsis symbols per word, mostly
 * bullet or ellipsis lines, too few words with a letter, or fewer than two English stop words.
 */
final class GopherQuality {

    /**
     * Thresholds, each with Gopher's published value as default.
     *
     * @param minWords          fewest words (symbol-only words not counted)
     * @param maxWords          most words
     * @param minMeanWordLength shortest mean word length (characters)
     * @param maxMeanWordLength longest mean word length
     * @param maxSymbolWordRatio most "#" and most "..."/"…" per word (each)
     * @param maxBulletLines    largest fraction of lines starting with a bullet ("•" or "-")
     * @param maxEllipsisLines  largest fraction of lines ending with "..." or "…"
     * @param minAlphaWords     smallest fraction of words with a letter
     * @param minStopWords      fewest of the stop words the, be, to, of, and, that, have, with
     */
    record Settings(boolean enabled, int minWords, int maxWords, double minMeanWordLength, double maxMeanWordLength,
            double maxSymbolWordRatio, double maxBulletLines, double maxEllipsisLines, double minAlphaWords,
            int minStopWords) {

        /** Reads every threshold from {@code v} (Gopher's value where not overridden). */
        static Settings from(SettingValues v) {
            return new Settings(v.bool("gopher_quality", true), v.integer("gopher_min_words", 50),
                    v.integer("gopher_max_words", 100_000), v.number("gopher_min_mean_word_length", 3),
                    v.number("gopher_max_mean_word_length", 10), v.number("gopher_max_symbol_word_ratio", 0.1),
                    v.number("gopher_max_bullet_lines", 0.9), v.number("gopher_max_ellipsis_lines", 0.3),
                    v.number("gopher_min_alpha_words", 0.8), v.integer("gopher_min_stop_words", 2));
        }
    }

    private static final long[] STOP_WORDS = {Words.normalisedHash("the"), Words.normalisedHash("be"),
            Words.normalisedHash("to"), Words.normalisedHash("of"), Words.normalisedHash("and"),
            Words.normalisedHash("that"), Words.normalisedHash("have"), Words.normalisedHash("with")};

    private final Settings s;

    GopherQuality(Settings settings) {
        this.s = settings;
    }

    /** The rule that drops the document, or null to keep it. */
    String check(Words w) {
        if (!s.enabled()) {
            return null;
        }
        String text = w.text;
        int words = w.count;
        int nonSymbol = 0;
        long letters = 0;
        int alphaWords = 0;
        int stopWords = 0;
        for (int i = 0; i < words; i++) {
            if (!w.symbol[i]) {
                nonSymbol++;
                letters += w.length(i);
            }
            if (w.alpha[i]) {
                alphaWords++;
            }
            long h = w.hash[i];
            for (long stop : STOP_WORDS) {
                if (h == stop) { // normalised: "The," counts (datatrove splits punctuation off words too)
                    stopWords++;
                    break;
                }
            }
        }
        if (nonSymbol < s.minWords()) {
            return "gopher_min_words";
        }
        if (nonSymbol > s.maxWords()) {
            return "gopher_max_words";
        }
        double mean = (double) letters / nonSymbol;
        if (mean < s.minMeanWordLength()) {
            return "gopher_min_mean_word_length";
        }
        if (mean > s.maxMeanWordLength()) {
            return "gopher_max_mean_word_length";
        }
        int hashes = 0;
        int ellipses = 0;
        int bullets = 0;
        int ellipsisLines = 0;
        int lines = 0;
        int n = text.length();
        int lineStart = 0;
        for (int i = 0; i <= n; i++) {
            char c = i < n ? text.charAt(i) : '\n';
            if (c == '#') {
                hashes++;
            } else if (c == '…') {
                ellipses++;
            } else if (c == '.' && i + 2 < n && text.charAt(i + 1) == '.' && text.charAt(i + 2) == '.') {
                ellipses++;
                i += 2;
            } else if (c == '\n') {
                int a = lineStart;
                int b = i;
                while (a < b && Character.isWhitespace(text.charAt(a))) {
                    a++;
                }
                while (b > a && Character.isWhitespace(text.charAt(b - 1))) {
                    b--;
                }
                if (a < b || i < n) {
                    lines++;
                }
                if (a < b) {
                    char first = text.charAt(a);
                    if (first == '•' || first == '-') {
                        bullets++;
                    }
                    if (text.charAt(b - 1) == '…' || b - a >= 3 && text.startsWith("...", b - 3)) {
                        ellipsisLines++;
                    }
                }
                lineStart = i + 1;
            }
        }
        if ((double) hashes / words > s.maxSymbolWordRatio()) {
            return "gopher_symbol_hash_ratio";
        }
        if ((double) ellipses / words > s.maxSymbolWordRatio()) {
            return "gopher_symbol_ellipsis_ratio";
        }
        if (lines > 0 && (double) bullets / lines > s.maxBulletLines()) {
            return "gopher_max_bullet_lines";
        }
        if (lines > 0 && (double) ellipsisLines / lines > s.maxEllipsisLines()) {
            return "gopher_max_ellipsis_lines";
        }
        if ((double) alphaWords / words < s.minAlphaWords()) {
            return "gopher_min_alpha_words";
        }
        if (stopWords < s.minStopWords()) {
            return "gopher_min_stop_words";
        }
        return null;
    }
}
