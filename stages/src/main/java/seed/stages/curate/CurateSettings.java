package seed.stages.curate;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every rule of the curation stage and its threshold, datatrove's published defaults unless overridden by name
 * ({@code seed curate --set gopher_min_words=30}). {@link #values()} lists every setting with the value used, for
 * the store address, the lineage record and the report.
 *
 * @param split          how text files become documents: {@code file} or {@code blank-lines}
 * @param exactDedup     drop documents whose normalised text repeats an earlier one
 * @param minhash        near-duplicate removal
 * @param quality        Gopher's quality rules
 * @param repetition     Gopher's repetition rules
 * @param c4             C4's line rules
 * @param pii            placeholders of personal data
 * @param decontaminateNgram    words per n-gram matched against evaluation files
 * @param decontaminateMinWords shortest evaluation item matched whole when shorter than the n-gram
 * @param examplesPerRule       removed documents shown per rule in the report
 * @param values         every setting's name and value, in pipeline order
 */
public record CurateSettings(String split, boolean exactDedup, MinHashDedup.Settings minhash,
        GopherQuality.Settings quality, GopherRepetition.Settings repetition, C4Lines.Settings c4,
        PiiScrub.Settings pii, int decontaminateNgram, int decontaminateMinWords, int examplesPerRule,
        Map<String, Object> values) {

    /**
     * Every setting, its type and datatrove's default, in pipeline order: the documentation of the Kestra task's
     * {@code settings} map and of the CLI's {@code --set} (a constant, as annotations need; a test keeps it equal to
     * {@link #defaults()}).
     */
    public static final String SETTINGS_DOC = "split (string: file or blank-lines) = file; "
            + "exact_dedup (boolean) = true; "
            + "minhash_dedup (boolean) = true; minhash_ngram (integer) = 5; minhash_bands (integer) = 14; "
            + "minhash_rows (integer) = 8; minhash_seed (integer) = 1; minhash_verify (number) = 0.78; "
            + "gopher_quality (boolean) = true; gopher_min_words (integer) = 50; gopher_max_words (integer) = 100000; "
            + "gopher_min_mean_word_length (number) = 3; gopher_max_mean_word_length (number) = 10; "
            + "gopher_max_symbol_word_ratio (number) = 0.1; gopher_max_bullet_lines (number) = 0.9; "
            + "gopher_max_ellipsis_lines (number) = 0.3; gopher_min_alpha_words (number) = 0.8; "
            + "gopher_min_stop_words (integer) = 2; "
            + "gopher_repetition (boolean) = true; gopher_dup_line_fraction (number) = 0.3; "
            + "gopher_dup_paragraph_fraction (number) = 0.3; gopher_dup_line_chars (number) = 0.2; "
            + "gopher_dup_paragraph_chars (number) = 0.2; gopher_top_2gram (number) = 0.2; "
            + "gopher_top_3gram (number) = 0.18; gopher_top_4gram (number) = 0.16; gopher_dup_5gram (number) = 0.15; "
            + "gopher_dup_6gram (number) = 0.14; gopher_dup_7gram (number) = 0.13; gopher_dup_8gram (number) = 0.12; "
            + "gopher_dup_9gram (number) = 0.11; gopher_dup_10gram (number) = 0.1; "
            + "c4 (boolean) = true; c4_terminal_punctuation (boolean) = true; c4_remove_citations (boolean) = true; "
            + "c4_min_sentences (integer) = 5; c4_min_words_per_line (integer) = 3; "
            + "c4_max_word_length (integer) = 1000; c4_lorem_ipsum (boolean) = true; c4_javascript (boolean) = true; "
            + "c4_curly_bracket (boolean) = true; c4_policy (boolean) = true; "
            + "decontaminate_ngram (integer) = 13; decontaminate_min_words (integer) = 8; "
            + "pii_email (string) = <EMAIL>; pii_phone (string) = <PHONE>; pii_ip (string) = <IP>; "
            + "report_examples (integer) = 3";

    /** Datatrove's defaults. */
    public static CurateSettings defaults() {
        return of(Map.of());
    }

    /** The defaults with {@code overrides} (setting name -> value); an unknown name or a bad value is refused. */
    public static CurateSettings of(Map<String, String> overrides) {
        SettingValues v = new SettingValues(overrides);
        String split = v.text("split", "file");
        if (!split.equals("file") && !split.equals("blank-lines")) {
            throw new IllegalArgumentException("curate setting split must be file or blank-lines, got '" + split + "'");
        }
        boolean exact = v.bool("exact_dedup", true);
        MinHashDedup.Settings minhash = MinHashDedup.Settings.from(v);
        GopherQuality.Settings quality = GopherQuality.Settings.from(v);
        GopherRepetition.Settings repetition = GopherRepetition.Settings.from(v);
        C4Lines.Settings c4 = C4Lines.Settings.from(v);
        int ngram = v.integer("decontaminate_ngram", 13);
        int minWords = v.integer("decontaminate_min_words", 8);
        PiiScrub.Settings pii = PiiScrub.Settings.from(v);
        int examples = v.integer("report_examples", 3);
        v.requireAllKnown();
        return new CurateSettings(split, exact, minhash, quality, repetition, c4, pii, ngram, minWords, examples,
                Collections.unmodifiableMap(new LinkedHashMap<>(v.used())));
    }

    /**
     * The defaults with typed overrides (a Kestra task's {@code settings} map: JSON booleans, numbers and strings),
     * checked before anything runs: a name no rule reads, or a value of the wrong type, is refused naming the setting
     * and listing the known ones. A string holding the right type ({@code "30"}, {@code "false"}) is accepted, as
     * a templated value in a flow renders to one.
     */
    public static CurateSettings ofTyped(Map<String, ?> settings) {
        Map<String, Object> known = defaults().values();
        Map<String, String> overrides = new LinkedHashMap<>();
        settings.forEach((name, value) -> {
            Object fallback = known.get(name);
            if (fallback == null) {
                throw new IllegalArgumentException("unknown curate setting '" + name + "'; known: "
                        + String.join(", ", known.keySet()));
            }
            String text = typedText(value, fallback);
            if (text == null) {
                throw new IllegalArgumentException("curate setting '" + name + "' must be " + kind(fallback)
                        + " (default " + fallback + "), got " + describe(value) + "; known: "
                        + String.join(", ", known.keySet()));
            }
            overrides.put(name, text);
        });
        return of(overrides);
    }

    /** The value as the text {@link #of} parses, or null when it is not of the default's type. */
    private static String typedText(Object value, Object fallback) {
        if (fallback instanceof Boolean) {
            return value instanceof Boolean || "true".equals(value) || "false".equals(value) ? value.toString() : null;
        }
        if (fallback instanceof Integer) {
            java.math.BigDecimal d = decimal(value);
            try {
                return d == null ? null : String.valueOf(d.intValueExact());
            } catch (ArithmeticException e) {
                return null; // a fraction or out of the int range
            }
        }
        if (fallback instanceof Double) {
            java.math.BigDecimal d = decimal(value);
            return d == null || !Double.isFinite(d.doubleValue()) ? null : String.valueOf(d.doubleValue());
        }
        return value instanceof String s ? s : null;
    }

    /** A JSON number, or a string holding one; null for anything else (booleans, lists, maps, null, NaN). */
    private static java.math.BigDecimal decimal(Object value) {
        try {
            if (value instanceof Number n && !(n instanceof Double x && !Double.isFinite(x))
                    && !(n instanceof Float f && !Float.isFinite(f))) {
                return new java.math.BigDecimal(n.toString());
            }
            return value instanceof String s ? new java.math.BigDecimal(s.strip()) : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String kind(Object fallback) {
        return fallback instanceof Boolean ? "a boolean" : fallback instanceof Integer ? "an integer"
                : fallback instanceof Double ? "a number" : "a string";
    }

    private static String describe(Object value) {
        if (value == null) {
            return "null";
        }
        String type = value instanceof Boolean ? "boolean" : value instanceof Number ? "number"
                : value instanceof String ? "string" : value instanceof Map ? "map"
                : value instanceof Iterable ? "list" : value.getClass().getSimpleName();
        return (value instanceof String ? "'" + value + "'" : String.valueOf(value)) + " (" + type + ")";
    }

    /** Parses {@code name=value} strings (the CLI's {@code --set}). */
    public static CurateSettings parse(Iterable<String> assignments) {
        Map<String, String> overrides = new LinkedHashMap<>();
        for (String a : assignments) {
            int eq = a.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--set expects name=value, got '" + a + "'");
            }
            overrides.put(a.substring(0, eq).strip(), a.substring(eq + 1).strip());
        }
        return of(overrides);
    }
}
