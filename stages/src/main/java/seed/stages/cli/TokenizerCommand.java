package seed.stages.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import seed.stages.tokenizer.BpeTokenizer;
import seed.stages.tokenizer.BpeTrainer;
import seed.stages.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code seed tokenizer ...}: trains a byte-level BPE tokenizer.json from a corpus and encodes text with a saved
 * tokenizer, so operators can build and inspect the tokenizer a pretraining run will use.
 */
@Command(name = "tokenizer", mixinStandardHelpOptions = true,
        description = "Train and inspect byte-level BPE tokenizers (HuggingFace tokenizer.json).",
        subcommands = {TokenizerCommand.Train.class, TokenizerCommand.Encode.class})
public final class TokenizerCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code seed tokenizer train}: corpus in, tokenizer.json out, numbers as name=value lines on stdout. */
    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Train a byte-level BPE on a UTF-8 corpus and write DIR/tokenizer.json (progress on stderr).")
    static final class Train implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--corpus", required = true, paramLabel = "FILE", description = "UTF-8 text to train on.")
        Path corpus;

        @Option(names = "--vocab-size", required = true, paramLabel = "N",
                description = "Total vocabulary size including 256 bytes and 3 special tokens (min 259).")
        int vocabSize;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write tokenizer.json into.")
        Path out;

        @Override
        public Integer call() {
            PrintWriter stdout = spec.commandLine().getOut();
            PrintWriter stderr = spec.commandLine().getErr();
            try {
                BpeTrainer.Result result = BpeTrainer.train(corpus, vocabSize, line -> {
                    stderr.println(line);
                    stderr.flush();
                });
                try (BpeTokenizer tokenizer = BpeTokenizer.of(result.model())) {
                    tokenizer.save(out);
                    stdout.println("tokenizer=" + out.resolve("tokenizer.json"));
                    stdout.println("vocab_size=" + tokenizer.vocabSize());
                    stdout.println("merges=" + result.model().merges().size());
                    stdout.println("unique_words=" + result.uniqueWords());
                    stdout.println("corpus_bytes=" + result.corpusBytes());
                    stdout.println("corpus_tokens=" + result.corpusTokens());
                    stdout.printf(Locale.ROOT, "bytes_per_token=%.4f%n", result.bytesPerToken());
                    stdout.printf(Locale.ROOT, "seconds=%.3f%n", result.seconds());
                    stdout.flush();
                }
                return 0;
            } catch (IOException | IllegalArgumentException e) {
                stderr.println("seed tokenizer train: error: " + e.getMessage());
                stderr.flush();
                return 1;
            }
        }
    }

    /** {@code seed tokenizer encode}: token count, bytes/token and speed of a saved tokenizer on some text. */
    @Command(name = "encode", mixinStandardHelpOptions = true,
            description = "Encode text with the tokenizer saved in DIR (tokenizer.json = BPE, none = bytes).")
    static final class Encode implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--tokenizer", required = true, paramLabel = "DIR", description = "Directory holding tokenizer.json.")
        Path dir;

        @Option(names = "--text", paramLabel = "TEXT", description = "Text to encode.")
        String text;

        @Option(names = "--file", paramLabel = "FILE", description = "UTF-8 file to encode (instead of --text).")
        Path file;

        @Option(names = "--print-ids", description = "Also print the ids.")
        boolean printIds;

        @Override
        public Integer call() {
            PrintWriter stdout = spec.commandLine().getOut();
            PrintWriter stderr = spec.commandLine().getErr();
            try {
                if ((text == null) == (file == null)) {
                    throw new IllegalArgumentException("give exactly one of --text or --file");
                }
                String input = text != null ? text : Files.readString(file, StandardCharsets.UTF_8);
                Tokenizer tokenizer = Tokenizer.load(dir);
                long t0 = System.nanoTime();
                int[] ids = tokenizer.encode(input);
                double seconds = (System.nanoTime() - t0) / 1e9;
                long bytes = input.getBytes(StandardCharsets.UTF_8).length;
                stdout.println("kind=" + tokenizer.kind());
                stdout.println("vocab_size=" + tokenizer.vocabSize());
                stdout.println("bytes=" + bytes);
                stdout.println("tokens=" + ids.length);
                stdout.printf(Locale.ROOT, "bytes_per_token=%.4f%n", ids.length == 0 ? 0.0 : (double) bytes / ids.length);
                stdout.printf(Locale.ROOT, "tokens_per_s=%.0f%n", ids.length / Math.max(seconds, 1e-9));
                stdout.println("round_trip=" + tokenizer.decode(ids).equals(input));
                if (printIds) {
                    stdout.println("ids=" + Arrays.toString(ids));
                }
                stdout.flush();
                if (tokenizer instanceof AutoCloseable closeable) {
                    closeable.close();
                }
                return 0;
            } catch (Exception e) {
                stderr.println("seed tokenizer encode: error: " + e.getMessage());
                stderr.flush();
                return 1;
            }
        }
    }
}
