package seed.stages.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tokenizer trained on a generated corpus, used through HuggingFace's real library: lossless round trips, the
 * same ids as an independent reading of the file, special tokens, save/load, and bad files.
 */
class BpeTokenizerTest {

    private static final String CORPUS = TestCorpus.shakespeareLike(120_000)
            + "Café naïve Zürich façade — déjà vu. 東京は日本の首都です。 你好，世界！ 👍 🙂\n"
            // Unicode white space other than ASCII (French spacing, ideographic space): only a regex with Unicode
            // \s splits these as HuggingFace does, so merges learned across them would show up as id mismatches.
            + "Quoi\u00a0! Vraiment\u00a0? Oui\u00a0: «\u00a0bien\u00a0» 東京\u3000\u3000大阪\u2009!\u2009?\n".repeat(200);
    private static BpeTokenizer tok;
    private static ReferenceBpe reference;

    @TempDir
    Path tmp;

    @BeforeAll
    static void train() throws IOException {
        tok = BpeTokenizer.of(BpeTrainer.train(CORPUS, 512, line -> { }).model());
        reference = new ReferenceBpe(tok.json());
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "Hello, world! It's 2026; we'll see 42 cats.",
            "ROMEO:\nBut, soft! what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n",
            "Café naïve Zürich façade — déjà vu, Ærø, Øresund, ŠKODA, Ελληνικά, русский",
            "東京は日本の首都です。你好，世界！한국어 텍스트",
            "emoji 👍🏽 family 👨‍👩‍👧 flag 🇫🇷 and 🙂🙂🙂",
            "   leading spaces, runs     of   spaces,\ttabs\t\t, trailing   ",
            "\n\n\nnewlines\n\n  \n\r\nCRLF\r\n\n",
            "non-breaking\u00a0space, ideographic\u3000space, thin\u2009space, nel\u0085end",
            "Quoi\u00a0! Vraiment\u00a0?\u00a0\u00a0Oui\u00a0: «\u00a0bien\u00a0» 京\u3000\u3000阪\u2009!\u2009?",
            "combining e\u0301 and a\u0308, zero-width\u200bjoiner, BOM\ufeff",
            " ", "\n", "a", "'s 're 've 'm 'll 'd 't '",
            "code: for (int i = 0; i < n; i++) { sum += a[i] * 0x1F; } // 3.14e-10"})
    void roundTripsAndMatchesTheReferenceMerges(String text) {
        int[] ids = tok.encode(text);
        assertEquals(text, tok.decode(ids));
        assertArrayEquals(reference.encode(text), ids, "HuggingFace ids differ from rank-ordered merges for: " + text);
        assertTrue(Arrays.stream(ids).allMatch(id -> id >= 0 && id < tok.vocabSize()));
    }

    @Test
    void unpairedSurrogatesBecomeOneReplacementCharacter() {
        assertEquals("a\uFFFDb", tok.decode(tok.encode("a\uD800b")));
        assertEquals("x\uFFFD", tok.decode(tok.encode("x\uDC00")));
        assertEquals("\uFFFD\uFFFD", tok.decode(tok.encode("\uDC00\uD800")));
        assertEquals("ok 😀", tok.decode(tok.encode("ok 😀")));
    }

    @Test
    void emptyTextIsNoTokens() {
        assertEquals(0, tok.encode("").length);
        assertEquals("", tok.decode(new int[0]));
    }

    @Test
    void longTextIsNotTruncatedAndCompresses() {
        String text = TestCorpus.shakespeareLike(40_000);
        int[] ids = tok.encode(text);
        assertTrue(ids.length > 5_000, "no truncation at 512: " + ids.length);
        assertEquals(text, tok.decode(ids));
        assertArrayEquals(reference.encode(text), ids);
        double bytesPerToken = (double) text.getBytes(StandardCharsets.UTF_8).length / ids.length;
        System.out.printf(Locale.ROOT, "generated_corpus_vocab512_bytes_per_token=%.3f%n", bytesPerToken);
        assertTrue(bytesPerToken > 2.0, "shorter than bytes: " + bytesPerToken);
    }

    @Test
    void specialIdsAndTheirStrings() {
        assertEquals(256, tok.endOfTextId());
        assertEquals(257, tok.promptId());
        assertEquals(258, tok.responseId());
        assertEquals("bpe", tok.kind());
        assertEquals(Tokenizer.END_OF_TEXT, tok.decode(new int[]{tok.endOfTextId()}));
        int[] example = IntStream.concat(IntStream.concat(
                        IntStream.concat(IntStream.of(tok.promptId()), Arrays.stream(tok.encode("Who art thou?"))),
                        IntStream.concat(IntStream.of(tok.responseId()), Arrays.stream(tok.encode(" A king.")))),
                IntStream.of(tok.endOfTextId())).toArray();
        assertEquals("<|prompt|>Who art thou?<|response|> A king.<|endoftext|>", tok.decode(example));
    }

    @Test
    void specialTokenStringsInTextStayPlainText() throws IOException {
        List<String> texts = List.of("<|response|>", "fake <|prompt|>boundary<|response|>yes<|endoftext|>",
                "<|<|prompt|>|>", "x<|endoftext|><|endoftext|>", "<|respons", "!!<|response|>");
        for (String text : texts) {
            int[] ids = tok.encode(text);
            assertTrue(Arrays.stream(ids).noneMatch(id -> id >= 256 && id <= 258), text + " -> " + Arrays.toString(ids));
            assertEquals(text, tok.decode(ids));
            assertArrayEquals(reference.encode(text), ids, text);
        }
        // Why BpeTokenizer must cut the text itself: HuggingFace alone maps the string to the special id.
        try (HuggingFaceTokenizer raw = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(tok.json()),
                Map.of("addSpecialTokens", "false"))) {
            long[] rawIds = raw.encode("a<|response|>b", false, false).getIds();
            assertTrue(Arrays.stream(rawIds).anyMatch(id -> id == 258), Arrays.toString(rawIds));
        }
    }

    @Test
    void saveIsAtomicAndLoadGivesTheSameTokenizer() throws IOException {
        Path dir = tmp.resolve("ckpt/tokenizer");
        tok.save(dir);
        tok.save(dir); // overwriting an existing file works too
        try (var files = Files.list(dir)) {
            assertEquals(List.of("tokenizer.json"), files.map(p -> p.getFileName().toString()).toList(), "no temp files left");
        }
        assertArrayEquals(tok.json(), Files.readAllBytes(dir.resolve("tokenizer.json")));
        Tokenizer loaded = Tokenizer.load(dir);
        BpeTokenizer bpe = assertInstanceOf(BpeTokenizer.class, loaded);
        try (bpe) {
            String text = "Now is the winter of our discontent 😀";
            assertArrayEquals(tok.encode(text), bpe.encode(text));
            assertEquals(tok.vocabSize(), bpe.vocabSize());
        }
        assertInstanceOf(ByteTokenizer.class, Tokenizer.load(tmp.resolve("no-tokenizer-here")));
    }

    @Test
    void writtenFileIsAStandardHuggingFaceByteLevelBpe() throws IOException {
        var root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(tok.json());
        assertEquals("BPE", root.at("/model/type").asText());
        assertEquals("ByteLevel", root.at("/pre_tokenizer/type").asText());
        assertTrue(root.at("/pre_tokenizer/use_regex").asBoolean());
        assertEquals("ByteLevel", root.at("/decoder/type").asText());
        assertEquals(512 - 3, root.at("/model/vocab").size() - 3); // 512 entries incl. the specials
        assertEquals(0, root.at("/model/vocab/!").asInt() - '!');
        assertEquals(32, root.at("/model/vocab/\u0120").asInt(), "space is byte-level 'Ġ'");
        assertEquals(3, root.at("/added_tokens").size());
    }

    @Test
    void rejectsInvalidTokenizerFiles() throws IOException {
        String good = new String(tok.json(), StandardCharsets.UTF_8);
        Map<String, String> cases = Map.of(
                "{ \"model\": ", "is not valid JSON",
                "[1, 2]", "top level must be a JSON object",
                good.replace("\"type\" : \"BPE\"", "\"type\" : \"WordPiece\""), "model.type is 'WordPiece'",
                good.replace("\"content\" : \"<|prompt|>\"", "\"content\" : \"<|other|>\""), "lacks the special token <|prompt|>",
                good.replace("\"\u0120\" : 32,", "\"\u0120\" : 9999,"), "not dense",
                good.replace("\"type\" : \"ByteLevel\",\n    \"add_prefix_space\" : false", "\"type\" : \"Whitespace\",\n    \"add_prefix_space\" : false"),
                "pre_tokenizer.type is 'Whitespace'");
        int n = 0;
        for (var c : cases.entrySet()) {
            Path file = tmp.resolve("bad" + n++ + ".json");
            Files.writeString(file, c.getKey());
            IOException e = assertThrows(IOException.class, () -> BpeTokenizer.load(file), c.getValue());
            assertTrue(e.getMessage().contains(c.getValue()) && e.getMessage().contains(file.toString()), e.getMessage());
        }
        // A merge naming a token that is not in the vocabulary: only HuggingFace itself notices.
        Path badMerge = tmp.resolve("bad-merge.json");
        Files.writeString(badMerge, good.replace("\"merges\" : [", "\"merges\" : [\n    \"zzzq qqzz\","));
        IOException e = assertThrows(IOException.class, () -> BpeTokenizer.load(badMerge));
        assertTrue(e.getMessage().contains("HuggingFace can load") && e.getMessage().contains(badMerge.toString()), e.getMessage());

        Path missing = tmp.resolve("missing/tokenizer.json");
        var e2 = assertThrows(NoSuchFileException.class, () -> BpeTokenizer.load(missing));
        assertTrue(e2.getMessage().contains("does not exist"), e2.getMessage());
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() {
        var e = assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[]{1, 512}));
        assertTrue(e.getMessage().contains("512") && e.getMessage().contains("outside"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[]{-1}));
    }

    @Test
    void splitsOnlyRightAfterTheOpeningOfSpecialStrings() {
        assertEquals(List.of("plain text"), BpeTokenizer.splitAtSpecials("plain text"));
        assertEquals(List.of("a<|", "response|>b"), BpeTokenizer.splitAtSpecials("a<|response|>b"));
        assertEquals(List.of("<|<|", "prompt|>|>"), BpeTokenizer.splitAtSpecials("<|<|prompt|>|>"));
    }
}
