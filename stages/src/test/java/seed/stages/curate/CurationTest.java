package seed.stages.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.checkpoint.Hashes;

/** The curation stage on generated documents whose right answers are known. */
class CurationTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** Generated documents plus controlled-edit variants; the true 5-gram Jaccard decides what should go. */
    @Test
    void nearDuplicatesAreFoundWithHighRecallAndPrecision() throws IOException {
        CurateTextGen gen = new CurateTextGen(11);
        Map<String, String> docs = new LinkedHashMap<>();
        List<String> variants = new ArrayList<>();
        Map<String, Double> jaccardToBase = new LinkedHashMap<>();
        int bases = 400;
        for (int i = 0; i < bases; i++) {
            docs.put("base-" + i, String.join(" ", gen.pseudoWords(250 + gen.nextInt(200))));
        }
        for (int i = 0; i < bases; i++) {
            List<String> words = new ArrayList<>(List.of(docs.get("base-" + i).split(" ")));
            // two thirds light edits (mostly J >= 0.8), one third heavier ones (J spread over ~0.2-0.8)
            double rate = i % 3 != 0 ? gen.nextInt(25) / 1000.0 : 0.04 + gen.nextInt(200) / 1000.0;
            List<String> edited = new ArrayList<>();
            for (String w : words) {
                if (gen.nextInt(1000) < rate * 1000) {
                    switch (gen.nextInt(3)) {
                        case 0 -> edited.add(gen.pseudoWord()); // substitution
                        case 1 -> { } // deletion
                        default -> {
                            edited.add(w);
                            edited.add(gen.pseudoWord()); // insertion
                        }
                    }
                } else {
                    edited.add(w);
                }
            }
            String id = "variant-" + i;
            String text = String.join(" ", edited);
            if (text.equals(docs.get("base-" + i))) {
                text = text + " " + gen.pseudoWord(); // never an exact copy: this test is about near duplicates
            }
            docs.put(id, text);
            variants.add(id);
            jaccardToBase.put(id, jaccard(docs.get("base-" + i), text));
        }
        Path in = jsonl("near.jsonl", docs);
        run(in, List.of(), settings());
        Map<String, JsonNode> removed = removed();
        int positives = 0;
        int found = 0;
        for (String id : variants) {
            if (jaccardToBase.get(id) >= 0.8) {
                positives++;
                if (removed.containsKey(id)) {
                    found++;
                }
            }
        }
        int flagged = 0;
        int right = 0;
        for (JsonNode r : removed.values()) {
            assertEquals("minhash_dedup", r.get("rule").asText(), r.toString());
            flagged++;
            if (jaccard(docs.get(r.get("duplicate_of").asText()), docs.get(r.get("id").asText())) >= 0.8) {
                right++;
            }
        }
        double recall = (double) found / positives;
        double precision = (double) right / flagged;
        long lowBand = jaccardToBase.values().stream().filter(j -> j < 0.8).count();
        long nearMiss = jaccardToBase.values().stream().filter(j -> j >= 0.6 && j < 0.8).count();
        for (double low = 0.5; low < 1; low += 0.1) { // the S-curve: how often each band of true J is removed
            double from = low;
            List<String> band = variants.stream().filter(id -> jaccardToBase.get(id) >= from
                    && jaccardToBase.get(id) < from + 0.1).toList();
            System.out.printf("near-dup: J in [%.1f, %.1f): %d variants, %d removed%n", from, from + 0.1, band.size(),
                    band.stream().filter(removed::containsKey).count());
        }
        System.out.printf("near-dup: %d variants with J >= 0.8, %d below (%d of them in [0.6, 0.8)); recall %.3f, "
                + "precision %.3f (%d flagged)%n", positives, lowBand, nearMiss, recall, precision, flagged);
        assertTrue(positives >= 150 && lowBand >= 80, "the generated mix must hold both kinds: " + positives + "/"
                + lowBand);
        assertTrue(recall >= 0.95, "near-duplicate recall at J >= 0.8: " + recall);
        assertTrue(precision >= 0.95, "near-duplicate precision: " + precision);
        for (int i = 0; i < bases; i++) {
            assertFalse(removed.containsKey("base-" + i), "an unrelated first copy was removed: base-" + i);
        }
    }

    /** Evaluation items pasted whole, re-cased, or in 15-word pieces into long documents are all found. */
    @Test
    void decontaminationFindsEmbeddedEvaluationText() throws IOException {
        CurateTextGen gen = new CurateTextGen(5);
        Map<String, String> eval = new LinkedHashMap<>();
        List<List<String>> items = new ArrayList<>();
        for (int i = 0; i < 110; i++) {
            List<String> item = gen.pseudoWords(i < 100 ? 30 : 9); // the last ten shorter than 13 words
            items.add(item);
            eval.put("q" + i, String.join(" ", item));
        }
        Path evalFile = dir.resolve("eval.jsonl");
        StringBuilder evalJson = new StringBuilder();
        eval.forEach((id, text) -> evalJson.append("{\"question\":").append(quote(text)).append(",\"answer\":\"42\"}\n"));
        Files.writeString(evalFile, evalJson);
        Map<String, String> docs = new LinkedHashMap<>();
        Set<String> contaminated = new HashSet<>();
        for (int i = 0; i < 110; i++) {
            List<String> item = items.get(i);
            String pasted = switch (i % 3) {
                case 0 -> String.join(" ", item);
                case 1 -> recased(item);
                default -> i < 100 ? String.join(" ", item.subList(5, 20)) : String.join(" ", item);
            };
            String id = "dirty-" + i;
            docs.put(id, String.join(" ", gen.pseudoWords(200)) + " " + pasted + " "
                    + String.join(" ", gen.pseudoWords(300)));
            contaminated.add(id);
            if (i < 100) { // a 10-word piece is not contamination at n = 13
                docs.put("clean-" + i, String.join(" ", gen.pseudoWords(200)) + " "
                        + String.join(" ", item.subList(3, 13)) + " " + String.join(" ", gen.pseudoWords(200)));
            }
        }
        run(jsonl("docs.jsonl", docs), List.of(evalFile), settings());
        Map<String, JsonNode> removed = removed();
        long caught = contaminated.stream().filter(removed::containsKey).count();
        double recall = (double) caught / contaminated.size();
        System.out.printf("decontamination: recall %.3f (%d of %d, embedded in 500-word documents)%n", recall, caught,
                contaminated.size());
        assertTrue(recall >= 0.95, "decontamination recall " + recall);
        assertEquals(1.0, recall, "every generated case is within the rule's reach");
        for (Map.Entry<String, JsonNode> r : removed.entrySet()) {
            assertTrue(contaminated.contains(r.getKey()), "a clean document was removed: " + r.getValue());
            assertEquals("decontamination", r.getValue().get("rule").asText());
        }
    }

    /** Each Gopher and C4 rule removes the document made to break it, and a good document passes them all. */
    @Test
    void eachQualityRuleRemovesWhatItShould() throws IOException {
        CurateTextGen gen = new CurateTextGen(3);
        Map<String, String> docs = new LinkedHashMap<>();
        Map<String, String> expected = new LinkedHashMap<>();
        String good = gen.prose(8);
        docs.put("good", good);
        add(docs, expected, "gopher_min_words", "The cat and the dog sat with me. It was a good day for them.");
        add(docs, expected, "gopher_max_mean_word_length", ("The incomprehensibilities counterrevolutionaries "
                + "internationalization and misunderstandings. ").repeat(15).strip());
        add(docs, expected, "gopher_symbol_hash_ratio", hashtags(gen.prose(8)));
        add(docs, expected, "gopher_max_bullet_lines", prefixLines(gen.prose(10), "- "));
        add(docs, expected, "gopher_max_ellipsis_lines", gen.prose(8).replace(".\n", "...\n") + "..");
        add(docs, expected, "gopher_min_alpha_words", numbers(gen.prose(8)));
        add(docs, expected, "gopher_min_stop_words", sentences(gen.pseudoWords(120)));
        String paragraph = gen.prose(2);
        add(docs, expected, "gopher_dup_paragraph_fraction", paragraph + "\n\n" + gen.prose(2) + "\n\n" + paragraph
                + "\n\n" + paragraph);
        String line = gen.prose(1);
        add(docs, expected, "gopher_dup_line_fraction", String.join("\n", gen.prose(5), line, line, line, line, line));
        add(docs, expected, "gopher_top_2gram", gen.prose(8).replaceAll("(\\w+ \\w+ )", "$1golden harbour "));
        String passage = gen.prose(4).replace('\n', ' ');
        add(docs, expected, "gopher_dup_5gram", passage + " " + passage);
        add(docs, expected, "c4_lorem_ipsum", gen.prose(6) + "\nLorem ipsum dolor sit amet, consectetur adipiscing.");
        add(docs, expected, "c4_curly_bracket", gen.prose(6) + "\nThe function returns { value } to the caller.");
        add(docs, expected, "c4_min_sentences", unpunctuated(gen.prose(8)));
        String withBadLines = gen.prose(6) + "\nPlease enable javascript to view this page.\nThis site uses cookies "
                + "to improve your visit.\nA heading without any punctuation\n" + gen.prose(2);
        docs.put("edited", withBadLines);
        docs.put("copy-of-good", good.toUpperCase().replace(".", " !"));
        expected.put("copy-of-good", "exact_dedup");
        String pii = gen.prose(6) + "\nWrite to jane.doe@example.com or call (555) 123-4567 or +44 20 7946 0958, "
                + "from the host 192.168.1.20 on the island.";
        docs.put("pii", pii);
        add(docs, expected, "keyword", gen.prose(6) + "\nThe zorblax walked to the river with the farmer.");
        add(docs, expected, "regex", gen.prose(6) + "\nThe forbidden-token walked to the river with the farmer.");
        Path keywords = Files.writeString(dir.resolve("words.txt"), "Zorblax\nquuxword\n");
        Path out = dir.resolve("corpus.txt");
        CurateResult result = Curation.run(new CurateRequest(jsonl("rules.jsonl", docs), out, null, List.of(),
                keywords, List.of("forbidden-token"), CurateSettings.of(Map.of("minhash_dedup", "false"))),
                System.out);
        Map<String, JsonNode> removed = removed(out.resolveSibling("corpus.txt.curate"));
        Map<String, String> actual = new LinkedHashMap<>();
        removed.forEach((id, r) -> actual.put(id, r.get("rule").asText()));
        assertEquals(expected, actual);
        assertEquals("good", removed.get("copy-of-good").get("duplicate_of").asText());
        String corpus = Files.readString(out);
        assertTrue(corpus.contains(good), "the good document is kept as it is");
        assertFalse(corpus.contains("javascript") || corpus.contains("cookies") || corpus.contains("heading"),
                "C4's line rules remove those lines");
        assertEquals(3L, result.metrics().get("c4_lines_removed"));
        assertTrue(corpus.contains("Write to <EMAIL> or call <PHONE> or <PHONE>, from the host <IP> on the island."),
                corpus);
        assertFalse(corpus.contains("jane.doe") || corpus.contains("4567") || corpus.contains("192.168"));
        assertEquals(1L, result.metrics().get("pii_emails"));
        assertEquals(2L, result.metrics().get("pii_phones"));
        assertEquals(1L, result.metrics().get("pii_ips"));
        assertEquals(Hashes.sha256(out), result.sha256());
        String table = Files.readString(result.rules());
        assertTrue(table.startsWith("rule\tdocs_removed\tbytes_removed\tdocs_edited\n"), table);
        assertTrue(table.contains("gopher_min_words\t1\t" + docs.get("gopher_min_words").length() + "\t0"), table);
        String report = Files.readString(result.report());
        assertTrue(report.contains("`gopher_min_words` = `50`") && report.contains("### c4_curly_bracket")
                && report.contains("\n`c4_curly_bracket`\n\n```text\n" + docs.get("c4_curly_bracket").substring(0, 100)),
                report);
    }

    @Test
    void settingsCarryEveryDefaultAndRefuseUnknownNames() {
        CurateSettings s = CurateSettings.parse(List.of("gopher_min_words=30", "c4=false"));
        assertEquals(30, s.values().get("gopher_min_words"));
        assertEquals(false, s.values().get("c4"));
        assertEquals(14, s.values().get("minhash_bands"));
        assertEquals(8, s.values().get("minhash_rows"));
        assertEquals(13, s.values().get("decontaminate_ngram"));
        assertEquals(0.2, s.values().get("gopher_top_2gram"));
        assertEquals(0.1, (Double) s.values().get("gopher_dup_10gram"), 1e-12);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CurateSettings.parse(List.of("gopher_min_wrds=30")));
        assertTrue(e.getMessage().contains("gopher_min_wrds") && e.getMessage().contains("gopher_min_words"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CurateSettings.parse(List.of("minhash_bands=many")));
    }

    /**
     * Duplicates are compared with kept documents only: a near copy of a document another rule dropped stays when it
     * passes, an exact copy of one goes for its own reason, and a duplicate always names a document of the corpus.
     */
    @Test
    void duplicatesOfDroppedDocumentsAreJudgedOnTheirOwn() throws IOException {
        CurateTextGen gen = new CurateTextGen(5);
        String prose = gen.prose(8);
        String lorem = "\nLorem ipsum dolor sit amet, consectetur adipiscing.";
        Map<String, String> docs = new LinkedHashMap<>();
        docs.put("lorem", prose + lorem); // dropped by C4's lorem-ipsum rule
        docs.put("clean", prose); // the same text without it: a near duplicate of a document not in the corpus
        docs.put("lorem-again", prose + lorem); // now near the kept one: its duplicate
        String curly = gen.prose(8) + "\nThe function returns { value } to the caller.";
        docs.put("curly", curly); // dropped by C4's curly-bracket rule
        docs.put("curly-again", curly); // an exact copy of a dropped document: its own rule, not "duplicate"
        docs.put("clean-again", prose.toUpperCase()); // an exact copy of the kept one
        run(jsonl("dropped.jsonl", docs), List.of(), Map.of());
        Map<String, JsonNode> removed = removed();
        assertEquals(Set.of("lorem", "lorem-again", "curly", "curly-again", "clean-again"), removed.keySet(),
                removed.toString());
        assertEquals("c4_lorem_ipsum", removed.get("lorem").get("rule").asText());
        assertEquals("minhash_dedup", removed.get("lorem-again").get("rule").asText());
        assertEquals("clean", removed.get("lorem-again").path("duplicate_of").asText(), removed.toString());
        assertEquals("c4_curly_bracket", removed.get("curly").get("rule").asText());
        assertEquals("c4_curly_bracket", removed.get("curly-again").get("rule").asText());
        assertEquals("exact_dedup", removed.get("clean-again").get("rule").asText());
        assertEquals("clean", removed.get("clean-again").path("duplicate_of").asText(), removed.toString());
        assertTrue(Files.readString(dir.resolve("corpus.txt")).contains(prose.substring(0, 200)));
    }

    /** The documented list (the Kestra task's and the CLI's help) is exactly the settings and their defaults. */
    @Test
    void theSettingsDocListsEverySettingWithItsDefault() {
        List<String> documented = new ArrayList<>();
        for (String entry : CurateSettings.SETTINGS_DOC.split("; ")) {
            documented.add(entry.replaceAll(" \\([^)]*\\)", ""));
        }
        List<String> actual = new ArrayList<>();
        CurateSettings.defaults().values().forEach((name, value) -> actual.add(name + " = " + (value instanceof Double d
                ? java.math.BigDecimal.valueOf(d).stripTrailingZeros().toPlainString() : value)));
        assertEquals(actual, documented);
    }

    /** The Kestra task's typed map: JSON types accepted, unknown names and wrong types refused by name. */
    @Test
    void typedSettingsAreCheckedUpFront() {
        Map<String, Object> typed = new LinkedHashMap<>();
        typed.put("gopher_min_words", 30);
        typed.put("c4", false);
        typed.put("minhash_verify", 0.9);
        typed.put("split", "blank-lines");
        typed.put("gopher_max_words", "2000"); // a templated value renders to a string of the right type
        typed.put("gopher_min_mean_word_length", 2); // an integer is a number
        CurateSettings s = CurateSettings.ofTyped(typed);
        assertEquals(CurateSettings.parse(List.of("gopher_min_words=30", "c4=false", "minhash_verify=0.9",
                "split=blank-lines", "gopher_max_words=2000", "gopher_min_mean_word_length=2")).values(), s.values(),
                "the typed map and --set give the same settings, so the same store address");
        assertEquals(CurateSettings.defaults().values(), CurateSettings.ofTyped(Map.of()).values());
        for (Map<String, Object> bad : List.<Map<String, Object>>of(Map.of("gopher_min_wrds", 30),
                Map.of("gopher_min_words", "thirty"), Map.of("gopher_min_words", 30.5),
                Map.of("gopher_min_words", true), Map.of("c4", 0), Map.of("c4", "no"), Map.of("split", 3),
                Map.of("minhash_verify", List.of(0.5)), Map.of("minhash_verify", Double.NaN))) {
            String name = bad.keySet().iterator().next();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> CurateSettings.ofTyped(bad), bad::toString);
            assertTrue(e.getMessage().contains("'" + name + "'") && e.getMessage().contains("known: split, "
                    + "exact_dedup, minhash_dedup") && e.getMessage().contains("report_examples"), e.getMessage());
        }
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                () -> CurateSettings.ofTyped(Map.of("gopher_min_words", "thirty")));
        assertTrue(wrong.getMessage().startsWith("curate setting 'gopher_min_words' must be an integer (default 50), "
                + "got 'thirty' (string)"), wrong.getMessage());
    }

    @Test
    void badInputIsRefusedByName() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.jsonl"), "{\"text\": \"fine\"}\nnot json\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(bad, List.of(),
                settings()));
        assertTrue(e.getMessage().contains("bad.jsonl:2"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("corpus.txt")), "nothing half-written");
    }

    // ---- helpers

    private Map<String, String> settings() {
        return Map.of("gopher_quality", "false", "gopher_repetition", "false", "c4", "false");
    }

    private void run(Path in, List<Path> eval, Map<String, String> overrides) throws IOException {
        Curation.run(new CurateRequest(in, dir.resolve("corpus.txt"), null, eval, null, List.of(),
                CurateSettings.of(overrides)), System.out);
    }

    private Map<String, JsonNode> removed() throws IOException {
        return removed(dir.resolve("corpus.txt.curate"));
    }

    private static Map<String, JsonNode> removed(Path reportDir) throws IOException {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(reportDir.resolve("removed.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            assertNotNull(n.get("rule"));
            out.put(n.get("id").asText(), n);
        }
        return out;
    }

    private Path jsonl(String name, Map<String, String> docs) throws IOException {
        StringBuilder sb = new StringBuilder();
        docs.forEach((id, text) -> sb.append("{\"id\":").append(quote(id)).append(",\"text\":").append(quote(text))
                .append("}\n"));
        return Files.writeString(dir.resolve(name), sb, StandardCharsets.UTF_8);
    }

    private static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void add(Map<String, String> docs, Map<String, String> expected, String rule, String text) {
        docs.put(rule, text);
        expected.put(rule, rule);
    }

    /** Exact Jaccard similarity of the two texts' word 5-gram sets. */
    static double jaccard(String a, String b) {
        Set<String> x = grams(a);
        Set<String> y = grams(b);
        Set<String> union = new HashSet<>(x);
        union.addAll(y);
        x.retainAll(y);
        return (double) x.size() / union.size();
    }

    private static Set<String> grams(String text) {
        String[] w = text.toLowerCase().split("\\s+");
        Set<String> out = new HashSet<>();
        for (int i = 0; i + 5 <= w.length; i++) {
            out.add(String.join(" ", java.util.Arrays.copyOfRange(w, i, i + 5)));
        }
        return out;
    }

    private static String recased(List<String> words) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            sb.append(i % 2 == 0 ? w.toUpperCase() : w).append(i % 5 == 4 ? ", " : " ");
        }
        return sb.toString().strip();
    }

    private static String hashtags(String prose) {
        String[] words = prose.split(" ");
        for (int i = 0; i < words.length; i += 5) {
            words[i] = "#" + words[i];
        }
        return String.join(" ", words);
    }

    private static String prefixLines(String text, String prefix) {
        return prefix + text.replace("\n", "\n" + prefix);
    }

    private static String numbers(String prose) {
        String[] words = prose.split(" ");
        for (int i = 0; i < words.length; i += 3) {
            words[i] = Integer.toString(1000 + i);
        }
        return String.join(" ", words);
    }

    private static String sentences(List<String> words) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words.size(); i++) {
            sb.append(words.get(i)).append(i % 10 == 9 ? ".\n" : " ");
        }
        return sb.toString().strip();
    }

    private static String unpunctuated(String prose) {
        String[] lines = prose.split("\n");
        for (int i = 1; i < lines.length; i++) {
            lines[i] = lines[i].substring(0, lines[i].length() - 1);
        }
        return String.join("\n", lines);
    }
}
