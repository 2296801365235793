package seed.stages.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hugging Face folders' tokenizers through {@link Tokenizer#load}: a byte-level BPE (GPT-2 style, tokenizer.json only)
 * and a SentencePiece-style BPE with byte fallback (Llama 2 style), both written by the test in the library's format.
 */
class HfTokenizerTest {

    static final String CORPUS = TestCorpus.shakespeareLike(20_000) + "Café naïve Zürich — déjà vu. 東京は日本の首都です。\n";
    static final List<String> TEXTS = List.of(
            "Hello, world! It's 2026.",
            "ROMEO:\nBut, soft! what light\n\n  through yonder window breaks?\n",
            "Café naïve Zürich — déjà vu. 東京は日本の首都です。 👍",
            "tabs\tand trailing spaces   ");

    @TempDir
    Path tmp;

    @Test
    void byteLevelGpt2FolderLoadsAndRoundTrips() throws IOException {
        Path dir = HfFolders.byteLevel(tmp.resolve("gpt2"), CORPUS, 400, List.of("<|endoftext|>"), null);
        try (HfTokenizer tok = assertInstanceOf(HfTokenizer.class, Tokenizer.load(dir))) {
            assertEquals("hf", tok.kind());
            assertEquals(400, tok.vocabSize());
            assertEquals(256, tok.endOfTextId()); // its one special token is eos (no tokenizer_config.json)
            assertEquals("<|endoftext|>", tok.specialTokens().eos());
            assertTrue(tok.bosId().isEmpty());
            assertEquals(256, tok.padId());
            for (String text : TEXTS) {
                int[] ids = tok.encode(text);
                assertTrue(ids.length < text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, text);
                assertEquals(text, tok.decode(ids));
            }
            // the same merges in Seed's own reading give the same ids: one BPE, not a second implementation
            assertArrayEquals(new ReferenceBpe(tok.json()).encode(TEXTS.get(1)), tok.encode(TEXTS.get(1)));
            assertArrayEquals(new int[] {256}, tok.encode("<|endoftext|>")); // as transformers: added tokens match
            assertEquals("ab", tok.decodeSkippingSpecial(concat(tok.encode("a"), new int[] {256}, tok.encode("b"))));
        }
    }

    @Test
    void byteFallbackLlama2FolderLoadsAndRoundTrips() throws IOException {
        Path dir = HfFolders.byteFallback(tmp.resolve("llama2"), Map.of(
                "bos_token", Map.of("__type", "AddedToken", "content", "<s>", "lstrip", false),
                "eos_token", Map.of("__type", "AddedToken", "content", "</s>", "lstrip", false),
                "unk_token", "<unk>", "pad_token", Map.of("content", "<unk>")));
        try (HfTokenizer tok = assertInstanceOf(HfTokenizer.class, Tokenizer.load(dir))) {
            assertEquals(2, tok.endOfTextId());
            assertEquals(1, tok.bosId().getAsInt());
            assertEquals(0, tok.padId());
            int the = tok.idOf("▁the").getAsInt();
            assertArrayEquals(new int[] {the, tok.idOf("▁is").getAsInt()}, tok.encode("the is"));
            // a newline and an accent are not in the vocabulary: spelled as byte tokens
            assertArrayEquals(new int[] {the, 3 + 0x0A, tok.idOf("▁").getAsInt(), 3 + 0xC3, 3 + 0xA9}, tok.encode("the\n é"));
            for (String text : TEXTS) {
                assertEquals(text, tok.decode(tok.encode(text)), text);
            }
        }
    }

    @Test
    void saveWritesTheFolderFilesAndLoadsBack() throws IOException {
        Path dir = HfFolders.byteLevel(tmp.resolve("in"), CORPUS, 300, List.of("<|endoftext|>"), null);
        Path out = tmp.resolve("ckpt");
        try (HfTokenizer tok = HfTokenizer.load(dir)) {
            tok.save(out);
            for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")) {
                assertTrue(Files.isRegularFile(out.resolve(f)), f);
            }
            assertArrayEquals(Files.readAllBytes(dir.resolve("tokenizer.json")), Files.readAllBytes(out.resolve("tokenizer.json")));
            assertTrue(Files.readString(out.resolve("tokenizer_config.json")).contains("\"eos_token\" : \"<|endoftext|>\""));
            try (HfTokenizer back = assertInstanceOf(HfTokenizer.class, Tokenizer.load(out))) {
                assertArrayEquals(tok.encode(TEXTS.get(2)), back.encode(TEXTS.get(2)));
                assertEquals(tok.specialTokens(), back.specialTokens());
            }
        }
        Path llama = HfFolders.byteFallback(tmp.resolve("llama"), Map.of("eos_token", "</s>", "chat_template", "{{ x }}"));
        try (HfTokenizer tok = HfTokenizer.load(llama)) {
            tok.save(tmp.resolve("ckpt2"));
            assertArrayEquals(Files.readAllBytes(llama.resolve("tokenizer_config.json")),
                    Files.readAllBytes(tmp.resolve("ckpt2/tokenizer_config.json")));
            try (HfTokenizer back = HfTokenizer.load(tmp.resolve("ckpt2"))) {
                assertEquals("{{ x }}", back.chatTemplate().orElseThrow());
            }
        }
    }

    @Test
    void seedsOwnTokenizersStillLoadAsBefore() throws IOException {
        try (BpeTokenizer bpe = BpeTokenizer.of(BpeTrainer.train(CORPUS, 300, line -> { }).model())) {
            bpe.save(tmp.resolve("seed"));
            try (BpeTokenizer back = assertInstanceOf(BpeTokenizer.class, Tokenizer.load(tmp.resolve("seed")))) {
                assertEquals(List.of(256, 257, 258), List.of(back.endOfTextId(), back.promptId(), back.responseId()));
            }
        }
        assertInstanceOf(ByteTokenizer.class, Tokenizer.load(tmp.resolve("nothing")));
    }

    @Test
    void aFolderWithoutAnEosTokenIsRefusedNamingIt() throws IOException {
        Path dir = HfFolders.byteFallback(tmp.resolve("noeos"), null); // three special tokens, none named eos
        IOException e = assertThrows(IOException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().contains("eos_token"), e.getMessage());
        Path wrong = HfFolders.byteFallback(tmp.resolve("wrong"), Map.of("eos_token", "<|im_end|>"));
        e = assertThrows(IOException.class, () -> Tokenizer.load(wrong));
        assertTrue(e.getMessage().contains("'<|im_end|>'"), e.getMessage());
    }

    static int[] concat(int[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(java.util.Arrays::stream).toArray();
    }
}
