package seed.stages.tokenizer;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The trainer on a real corpus (the shared tinyshakespeare.txt, 1.1 MB), when it is present: exact vocabulary
 * sizes, HuggingFace ids identical to the independent reference on the whole corpus, lossless round trip, and the
 * numbers (training seconds, bytes per token, encode speed) printed as name=value lines.
 */
class TinyShakespeareBpeTest {

    private Path corpus;

    @BeforeEach
    void findCorpus() {
        var found = TestCorpus.tinyShakespeare();
        assumeTrue(found.isPresent(), "skipping: shared/data/tinyshakespeare.txt not found above " + Path.of("").toAbsolutePath());
        corpus = found.get();
    }

    @Test
    void trainsVocab512And1024OnTinyShakespeare() throws Exception {
        String text = Files.readString(corpus, StandardCharsets.UTF_8);
        long bytes = text.getBytes(StandardCharsets.UTF_8).length;
        for (int vocabSize : new int[]{512, 1024}) {
            BpeTrainer.Result result = BpeTrainer.train(corpus, vocabSize, line -> { });
            try (BpeTokenizer tok = BpeTokenizer.of(result.model())) {
                assertEquals(vocabSize, tok.vocabSize());
                assertEquals(vocabSize, result.model().vocab().size());

                long t0 = System.nanoTime();
                int[] ids = tok.encode(text);
                double encodeSeconds = (System.nanoTime() - t0) / 1e9;
                assertEquals(result.corpusTokens(), ids.length, "trainer's token count must equal HuggingFace's");
                assertEquals(text, tok.decode(ids));
                assertArrayEquals(new ReferenceBpe(tok.json()).encode(text), ids,
                        "HuggingFace ids differ from rank-ordered merges");
                double bpt = (double) bytes / ids.length;
                assertTrue(bpt > 1.5, "BPE should compress tinyshakespeare, bytes/token " + bpt);
                System.out.printf(Locale.ROOT, "tinyshakespeare_vocab%d_train_seconds=%.3f%n", vocabSize, result.seconds());
                System.out.printf(Locale.ROOT, "tinyshakespeare_vocab%d_merges=%d%n", vocabSize, result.model().merges().size());
                System.out.printf(Locale.ROOT, "tinyshakespeare_vocab%d_bytes_per_token=%.3f%n", vocabSize, bpt);
                System.out.printf(Locale.ROOT, "tinyshakespeare_vocab%d_encode_tokens_per_s=%.0f%n", vocabSize, ids.length / encodeSeconds);
            }
        }
    }
}
