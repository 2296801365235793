package seed.stages.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import seed.stages.cli.TokenizerCommand;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code seed tokenizer train/encode} run in-process: outputs, the written file, and exit codes on bad input. */
class TokenizerCommandTest {

    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = new CommandLine(new TokenizerCommand());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void trainsWritesTokenizerJsonAndPrintsNumbers() throws Exception {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, TestCorpus.shakespeareLike(50_000));
        Path out = tmp.resolve("tok");
        Run r = run("train", "--corpus", corpus.toString(), "--vocab-size", "320", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("vocab_size=320\n"), r.out());
        assertTrue(r.out().matches("(?s).*merges=\\d+\n.*bytes_per_token=\\d+\\.\\d+\n.*seconds=\\d+\\.\\d+\n.*"), r.out());
        assertTrue(r.err().contains("bpe: done: vocab 320"), r.err());
        try (BpeTokenizer tok = BpeTokenizer.load(out.resolve("tokenizer.json"))) {
            assertEquals(320, tok.vocabSize());
        }

        Run enc = run("encode", "--tokenizer", out.toString(), "--text", "Thou art a king, my lord.", "--print-ids");
        assertEquals(0, enc.code(), enc.err());
        assertTrue(enc.out().contains("kind=bpe\n") && enc.out().contains("round_trip=true\n"), enc.out());
    }

    @Test
    void badInputExitsNonZeroWithAMessage() throws Exception {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, TestCorpus.shakespeareLike(5_000));
        Path out = tmp.resolve("tok");

        Run missing = run("train", "--corpus", tmp.resolve("nope.txt").toString(), "--vocab-size", "300", "--out", out.toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("nope.txt") && missing.err().contains("does not exist"), missing.err());

        Run small = run("train", "--corpus", corpus.toString(), "--vocab-size", "100", "--out", out.toString());
        assertEquals(1, small.code());
        assertTrue(small.err().contains("vocab-size 100 is too small"), small.err());

        Files.writeString(tmp.resolve("empty.txt"), "");
        Run empty = run("train", "--corpus", tmp.resolve("empty.txt").toString(), "--vocab-size", "300", "--out", out.toString());
        assertEquals(1, empty.code());
        assertTrue(empty.err().contains("is empty"), empty.err());
        assertFalse(Files.exists(out.resolve("tokenizer.json")), "nothing written on failure");

        assertNotEquals(0, run("train", "--corpus", corpus.toString(), "--vocab-size", "300", "--out", out.toString(), "--bogus").code());
        assertNotEquals(0, run("train", "--corpus", corpus.toString()).code());

        Files.createDirectories(tmp.resolve("broken"));
        Files.writeString(tmp.resolve("broken/tokenizer.json"), "{ not json");
        Run broken = run("encode", "--tokenizer", tmp.resolve("broken").toString(), "--text", "x");
        assertEquals(1, broken.code());
        assertTrue(broken.err().contains("not valid JSON"), broken.err());
    }
}
