package seed.stages.curate;

import java.util.regex.Pattern;

/**
 * C4's cleaning rules (Raffel et al. 2020; datatrove's {@code C4QualityFilter} defaults), line by line: lines without
 * terminal punctuation, with fewer than three words, with a word longer than 1000 characters, mentioning
 * "javascript" or a cookie/privacy-policy phrase are removed; citation markers ("[1]", "[edit]") are cut out; a
 * document with "lorem ipsum" or a curly bracket, or with fewer than five sentences left, is dropped.
 * (FineWeb turns the terminal-punctuation rule off: {@code c4_terminal_punctuation=false}.)
 */
final class C4Lines {

    /**
     * The rules, C4's values by default.
     *
     * @param minSentences        fewest sentences left after the line rules
     * @param minWordsPerLine     fewest words in a kept line
     * @param maxWordLength       longest word in a kept line
     */
    record Settings(boolean enabled, boolean terminalPunctuation, boolean removeCitations, int minSentences,
            int minWordsPerLine, int maxWordLength, boolean loremIpsum, boolean javascript, boolean curlyBracket,
            boolean policy) {

        static Settings from(SettingValues v) {
            return new Settings(v.bool("c4", true), v.bool("c4_terminal_punctuation", true),
                    v.bool("c4_remove_citations", true), v.integer("c4_min_sentences", 5),
                    v.integer("c4_min_words_per_line", 3), v.integer("c4_max_word_length", 1000),
                    v.bool("c4_lorem_ipsum", true), v.bool("c4_javascript", true), v.bool("c4_curly_bracket", true),
                    v.bool("c4_policy", true));
        }
    }

    /** What C4 did to a document: dropped (with the rule), or its text with {@code linesRemoved} lines fewer. */
    record Result(String drop, String text, int linesRemoved) {
    }

    private static final Pattern CITATION = Pattern.compile("\\[\\d*]|\\[edit]|\\[citation needed]");
    private static final String[] POLICY = {"terms of use", "privacy policy", "cookie policy", "uses cookies",
            "use of cookies", "use cookies"};

    private final Settings s;

    C4Lines(Settings settings) {
        this.s = settings;
    }

    Result apply(String text) {
        if (!s.enabled()) {
            return new Result(null, text, 0);
        }
        StringBuilder kept = new StringBuilder(text.length());
        int sentences = 0;
        int removed = 0;
        int n = text.length();
        int from = 0;
        while (from <= n) {
            int to = text.indexOf('\n', from);
            to = to < 0 ? n : to;
            String line = text.substring(from, to).strip();
            from = to + 1;
            if (line.isEmpty()) {
                continue; // blank lines are not content (datatrove's splitlines + strip drops them the same way)
            }
            LineWords words = LineWords.of(line);
            if (words.longest > s.maxWordLength()) {
                removed++;
                continue;
            }
            if (s.removeCitations() && line.indexOf('[') >= 0) {
                line = CITATION.matcher(line).replaceAll("");
            }
            if (s.terminalPunctuation() && (!endsWithTerminal(line) || line.endsWith("..."))) {
                removed++;
                continue;
            }
            if (words.count < s.minWordsPerLine()) {
                removed++;
                continue;
            }
            String lower = line.toLowerCase(java.util.Locale.ROOT);
            if (s.loremIpsum() && lower.contains("lorem ipsum")) {
                return new Result("c4_lorem_ipsum", null, 0);
            }
            if (s.javascript() && lower.contains("javascript")) {
                removed++;
                continue;
            }
            if (s.curlyBracket() && line.indexOf('{') >= 0) {
                return new Result("c4_curly_bracket", null, 0);
            }
            if (s.policy() && hasPolicy(lower)) {
                removed++;
                continue;
            }
            sentences += sentences(line);
            if (!kept.isEmpty()) {
                kept.append('\n');
            }
            kept.append(line);
        }
        if (sentences < s.minSentences()) {
            return new Result("c4_min_sentences", null, 0);
        }
        return new Result(null, removed == 0 && kept.length() == text.length() ? text : kept.toString(), removed);
    }

    private static boolean endsWithTerminal(String line) {
        if (line.isEmpty()) {
            return false;
        }
        char c = line.charAt(line.length() - 1);
        return c == '.' || c == '?' || c == '!' || c == '"' || c == '\'';
    }

    private static boolean hasPolicy(String lower) {
        for (String p : POLICY) {
            if (lower.contains(p)) {
                return true;
            }
        }
        return false;
    }

    /** Sentences of a line: runs of . ! ? followed by a space or the line's end; at least one. */
    static int sentences(String line) {
        int count = 0;
        int n = line.length();
        for (int i = 0; i < n; i++) {
            char c = line.charAt(i);
            if (c == '.' || c == '!' || c == '?') {
                int j = i + 1;
                while (j < n && (line.charAt(j) == '.' || line.charAt(j) == '!' || line.charAt(j) == '?'
                        || line.charAt(j) == '"' || line.charAt(j) == '\'')) {
                    j++;
                }
                if (j == n || Character.isWhitespace(line.charAt(j))) {
                    count++;
                }
                i = j - 1;
            }
        }
        return Math.max(1, count);
    }

    /** Word count and longest word of a line (whitespace-separated). */
    private record LineWords(int count, int longest) {
        static LineWords of(String line) {
            int count = 0;
            int longest = 0;
            int run = 0;
            for (int i = 0; i <= line.length(); i++) {
                if (i == line.length() || Character.isWhitespace(line.charAt(i))) {
                    if (run > 0) {
                        count++;
                        longest = Math.max(longest, run);
                    }
                    run = 0;
                } else {
                    run++;
                }
            }
            return new LineWords(count, longest);
        }
    }
}
