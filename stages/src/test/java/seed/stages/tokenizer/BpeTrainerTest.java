package seed.stages.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The BPE trainer on a generated corpus: exact sizes, determinism, streaming equivalence, and bad input. */
class BpeTrainerTest {

    @TempDir
    Path tmp;

    private Path writeCorpus(String name, String text) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    @Test
    void vocabularyHasExactlyTheRequestedSize() throws Exception {
        String text = TestCorpus.shakespeareLike(60_000);
        for (int size : new int[]{259, 260, 300, 420}) {
            BpeTrainer.Result r = BpeTrainer.train(text, size, line -> { });
            assertEquals(size, r.model().vocab().size(), "vocab for " + size);
            assertTrue(r.model().merges().size() >= size - 259, "at least one merge per new token");
            try (BpeTokenizer tok = BpeTokenizer.of(r.model())) {
                assertEquals(size, tok.vocabSize(), "HuggingFace-side vocab for " + size);
                assertEquals(List.of(256, 257, 258), List.of(tok.endOfTextId(), tok.promptId(), tok.responseId()));
            }
        }
    }

    @Test
    void sameCorpusGivesIdenticalTokenizerJsonBytes() throws Exception {
        Path corpus = writeCorpus("c.txt", TestCorpus.shakespeareLike(80_000));
        byte[] first = TokenizerJson.write(BpeTrainer.train(corpus, 400, line -> { }).model());
        byte[] second = TokenizerJson.write(BpeTrainer.train(corpus, 400, line -> { }).model());
        assertArrayEquals(first, second);
        // The in-memory path and the streaming file path learn the same merges.
        byte[] fromString = TokenizerJson.write(BpeTrainer.train(Files.readString(corpus), 400, line -> { }).model());
        assertArrayEquals(first, fromString);
        // A different corpus gives a different file (the comparison above can fail).
        byte[] other = TokenizerJson.write(BpeTrainer.train(TestCorpus.shakespeareLike(80_000).toUpperCase(), 400, l -> { }).model());
        assertTrue(!java.util.Arrays.equals(first, other));
    }

    @Test
    void streamingInSmallChunksCountsTheSameWordsAsTheWholeText() throws Exception {
        String text = TestCorpus.shakespeareLike(30_000) + "tail without newline\n\n  \n end";
        Path corpus = writeCorpus("c.txt", text);
        Map<String, long[]> whole = new HashMap<>();
        BpeTrainer.addWords(text, whole);
        for (int chunk : new int[]{7, 64, 1000}) {
            Map<String, long[]> streamed = BpeTrainer.countWords(corpus, line -> { }, chunk);
            assertEquals(flatten(whole), flatten(streamed), "chunk size " + chunk);
        }
    }

    private static Map<String, Long> flatten(Map<String, long[]> m) {
        Map<String, Long> out = new HashMap<>();
        m.forEach((k, v) -> out.put(k, v[0]));
        return out;
    }

    @Test
    void trainerTokenCountMatchesHuggingFaceEncoding() throws Exception {
        String text = TestCorpus.shakespeareLike(50_000);
        BpeTrainer.Result r = BpeTrainer.train(text, 380, line -> { });
        try (BpeTokenizer tok = BpeTokenizer.of(r.model())) {
            int[] ids = tok.encode(text);
            assertEquals(r.corpusTokens(), ids.length);
            assertEquals(text.getBytes(StandardCharsets.UTF_8).length, r.corpusBytes());
            assertTrue(r.bytesPerToken() > 1.8, "bytes/token " + r.bytesPerToken());
        }
    }

    @Test
    void reportsProgress() throws Exception {
        List<String> lines = new ArrayList<>();
        BpeTrainer.train(TestCorpus.shakespeareLike(20_000), 300, lines::add);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("bpe: done: vocab 300")), lines.toString());
    }

    @Test
    void rejectsBadVocabSizes() {
        var small = assertThrows(IllegalArgumentException.class, () -> BpeTrainer.train("hello world", 258, l -> { }));
        assertTrue(small.getMessage().contains("too small") && small.getMessage().contains("259"), small.getMessage());
        var huge = assertThrows(IllegalArgumentException.class, () -> BpeTrainer.train("hello world", 1_000_000_000, l -> { }));
        assertTrue(huge.getMessage().contains("absurd"), huge.getMessage());
    }

    @Test
    void rejectsCorpusTooSmallForTheVocabulary() {
        var e = assertThrows(IllegalArgumentException.class, () -> BpeTrainer.train("abab abab", 300, l -> { }));
        assertTrue(e.getMessage().contains("too small for vocab-size 300"), e.getMessage());
    }

    @Test
    void rejectsMissingEmptyAndNonUtf8Corpora() throws Exception {
        Path missing = tmp.resolve("nope.txt");
        var e1 = assertThrows(NoSuchFileException.class, () -> BpeTrainer.train(missing, 300, l -> { }));
        assertTrue(e1.getMessage().contains("nope.txt") && e1.getMessage().contains("does not exist"), e1.getMessage());

        Path empty = writeCorpus("empty.txt", "");
        var e2 = assertThrows(IOException.class, () -> BpeTrainer.train(empty, 300, l -> { }));
        assertTrue(e2.getMessage().contains("empty"), e2.getMessage());

        Path binary = tmp.resolve("bin.txt");
        Files.write(binary, new byte[]{'a', 'b', (byte) 0xff, (byte) 0xfe, 'c'});
        var e3 = assertThrows(IOException.class, () -> BpeTrainer.train(binary, 300, l -> { }));
        assertTrue(e3.getMessage().contains("not valid UTF-8"), e3.getMessage());

        var e4 = assertThrows(IOException.class, () -> BpeTrainer.train(tmp, 300, l -> { }));
        assertTrue(e4.getMessage().contains("not a readable regular file"), e4.getMessage());
    }
}
