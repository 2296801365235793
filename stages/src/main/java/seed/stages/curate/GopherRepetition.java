package seed.stages.curate;

/**
 * Gopher's repetition rules (Rae et al. 2021, table A1; datatrove's {@code GopherRepetitionFilter} defaults): a
 * document is dropped when too many of its lines or paragraphs repeat (by count or by characters), when its most
 * frequent 2-, 3- or 4-gram covers too many characters, or when repeated 5- to 10-grams cover too many characters.
 */
final class GopherRepetition {

    /**
     * Thresholds, Gopher's values by default.
     *
     * @param dupLineFraction     largest fraction of lines that repeat an earlier line
     * @param dupParagraphFraction largest fraction of paragraphs (blank-line separated) that repeat an earlier one
     * @param dupLineChars        largest fraction of characters in repeated lines
     * @param dupParagraphChars   largest fraction of characters in repeated paragraphs
     * @param topNGram            for n = 2, 3, 4: the largest fraction of characters of the most frequent n-gram
     * @param dupNGram            for n = 5..10: the largest fraction of characters in repeated n-grams
     */
    record Settings(boolean enabled, double dupLineFraction, double dupParagraphFraction, double dupLineChars,
            double dupParagraphChars, double[] topNGram, double[] dupNGram) {

        static Settings from(SettingValues v) {
            boolean on = v.bool("gopher_repetition", true);
            double lines = v.number("gopher_dup_line_fraction", 0.3);
            double paragraphs = v.number("gopher_dup_paragraph_fraction", 0.3);
            double lineChars = v.number("gopher_dup_line_chars", 0.2);
            double paragraphChars = v.number("gopher_dup_paragraph_chars", 0.2);
            double[] published = {0.2, 0.18, 0.16};
            double[] top = new double[3];
            for (int n = 2; n <= 4; n++) {
                top[n - 2] = v.number("gopher_top_" + n + "gram", published[n - 2]);
            }
            double[] publishedDup = {0.15, 0.14, 0.13, 0.12, 0.11, 0.10}; // exact decimals: they address the store
            double[] dup = new double[6];
            for (int n = 5; n <= 10; n++) {
                dup[n - 5] = v.number("gopher_dup_" + n + "gram", publishedDup[n - 5]);
            }
            return new Settings(on, lines, paragraphs, lineChars, paragraphChars, top, dup);
        }
    }

    private final Settings s;
    private final LongIntMap seen = new LongIntMap(1 << 12);

    GopherRepetition(Settings settings) {
        this.s = settings;
    }

    /** The rule that drops the document, or null to keep it. */
    String check(Words w) {
        if (!s.enabled()) {
            return null;
        }
        String text = w.text;
        double chars = Math.max(1, text.length());
        String paragraphs = duplicates(text, true);
        if (paragraphs != null) {
            return paragraphs;
        }
        String lines = duplicates(text, false);
        if (lines != null) {
            return lines;
        }
        for (int n = 2; n <= 4; n++) {
            if (w.count >= n && topNGramChars(w, n) / chars > s.topNGram()[n - 2]) {
                return "gopher_top_" + n + "gram";
            }
        }
        for (int n = 5; n <= 10; n++) {
            if (w.count >= n && repeatedNGramChars(w, n) / chars > s.dupNGram()[n - 5]) {
                return "gopher_dup_" + n + "gram";
            }
        }
        return null;
    }

    /** Lines (split at runs of newlines) or paragraphs (split at 2+ newlines) that repeat an earlier one. */
    private String duplicates(String text, boolean paragraphs) {
        seen.clear();
        int n = text.length();
        int parts = 0;
        int repeated = 0;
        long repeatedChars = 0;
        int i = 0;
        if (paragraphs) { // as datatrove, paragraphs of the stripped text
            while (i < n && Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            while (n > i && Character.isWhitespace(text.charAt(n - 1))) {
                n--;
            }
        }
        String separator = paragraphs ? "\n\n" : "\n";
        int from = i;
        while (from < n) {
            int to = text.indexOf(separator, from);
            to = to < 0 || to > n ? n : to;
            int next = to;
            while (next < n && text.charAt(next) == '\n') {
                next++;
            }
            parts++;
            if (!seen.addKey(Hash64.chars(text, from, to))) {
                repeated++;
                repeatedChars += to - from;
            }
            from = next;
        }
        if (parts == 0) {
            return null;
        }
        double total = Math.max(1, text.length());
        if (paragraphs) {
            if ((double) repeated / parts > s.dupParagraphFraction()) {
                return "gopher_dup_paragraph_fraction";
            }
            return repeatedChars / total > s.dupParagraphChars() ? "gopher_dup_paragraph_chars" : null;
        }
        if ((double) repeated / parts > s.dupLineFraction()) {
            return "gopher_dup_line_fraction";
        }
        return repeatedChars / total > s.dupLineChars() ? "gopher_dup_line_chars" : null;
    }

    private static long nGramHash(Words w, int i, int n) {
        long h = 0;
        for (int j = i; j < i + n; j++) {
            h = h * Hash64.FNV_PRIME + w.hash[j];
        }
        return h;
    }

    /** Characters of the most frequent n-gram (its length, spaces included, times its count). */
    private long topNGramChars(Words w, int n) {
        seen.clear();
        long best = 0;
        for (int i = 0; i + n <= w.count; i++) {
            int count = seen.add(nGramHash(w, i, n), 1);
            int length = n - 1;
            for (int j = i; j < i + n; j++) {
                length += w.length(j);
            }
            best = Math.max(best, (long) length * count);
        }
        return best;
    }

    /** Characters in n-grams that repeat an earlier one, counted without overlap (Gopher's definition). */
    private long repeatedNGramChars(Words w, int n) {
        seen.clear();
        long repeated = 0;
        int i = 0;
        while (i + n <= w.count) {
            if (seen.addKey(nGramHash(w, i, n))) {
                i++;
            } else {
                for (int j = i; j < i + n; j++) {
                    repeated += w.length(j);
                }
                i += n;
            }
        }
        return repeated;
    }
}
