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
