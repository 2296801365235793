package seed.stages.data;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.Batch;
import seed.stages.train.BatchSource;

/**
 * Raw text for pretraining: the whole corpus tokenized once, the last {@code validationFraction} held out, and random
 * windows of {@code context + 1} tokens as (input, target) pairs. The windows of step s depend only on (seed, s).
 */
public final class TextCorpus implements BatchSource {

    private final int[] tokens;
    private final int trainEnd;
    private final int batchSize;
    private final int context;
    private final long seed;
    private final List<Batch> validation;

    public TextCorpus(int[] tokens, double validationFraction, int batchSize, int context, long seed,
            int validationBatches) {
        if (tokens.length < 2 * (context + 1)) {
            throw new IllegalArgumentException("corpus has " + tokens.length + " tokens; at least " + 2 * (context + 1)
                    + " are needed for a context of " + context + " (train and validation)");
        }
        this.tokens = tokens;
        this.batchSize = batchSize;
        this.context = context;
        this.seed = seed;
        int held = (int) Math.max(context + 1, Math.round(tokens.length * validationFraction));
        this.trainEnd = tokens.length - held;
        if (trainEnd < context + 1) {
            throw new IllegalArgumentException("corpus too small: nothing left for training after the validation split");
        }
        this.validation = validationBatches(validationBatches);
    }

    /**
     * Reads and tokenizes a UTF-8 corpus file. Fails with a message naming the file when it is missing, empty or not
     * UTF-8 text.
     */
    public static int[] tokenize(Path corpus, Tokenizer tokenizer) throws IOException {
        if (!Files.isRegularFile(corpus)) {
            throw new NoSuchFileException(corpus.toString(), null, "corpus file not found");
        }
        byte[] bytes = Files.readAllBytes(corpus);
        if (bytes.length == 0) {
            throw new IOException("corpus " + corpus + " is empty");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IOException("corpus " + corpus + " is not UTF-8 text: " + e.getMessage(), e);
        }
        if (text.isBlank()) {
            throw new IOException("corpus " + corpus + " holds only white space");
        }
        return tokenizer.encode(text);
    }

    @Override
    public Batch trainBatch(long step) {
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + step);
        long[] inputs = new long[batchSize * context];
        long[] targets = new long[batchSize * context];
        for (int b = 0; b < batchSize; b++) {
            fill(random.nextInt(trainEnd - context), inputs, targets, b);
        }
        return new Batch(batchSize, context, inputs, targets, null);
    }

    @Override
    public List<Batch> validationBatches() {
        return validation;
    }

    @Override
    public String describe() {
        return String.format("%,d train tokens, %,d validation tokens", trainEnd, tokens.length - trainEnd);
    }

    /** Evenly spaced windows over the held-out part, so evaluation is deterministic and covers it. */
    private List<Batch> validationBatches(int count) {
        int span = tokens.length - trainEnd - context - 1;
        int windows = Math.max(1, Math.min(count * batchSize, span + 1));
        List<Batch> out = new ArrayList<>();
        for (int start = 0; start < windows; start += batchSize) {
            int size = Math.min(batchSize, windows - start);
            long[] inputs = new long[size * context];
            long[] targets = new long[size * context];
            for (int b = 0; b < size; b++) {
                int offset = trainEnd + (int) ((long) span * (start + b) / Math.max(1, windows - 1));
                fill(offset, inputs, targets, b);
            }
            out.add(new Batch(size, context, inputs, targets, null));
        }
        return out;
    }

    private void fill(int offset, long[] inputs, long[] targets, int row) {
        for (int t = 0; t < context; t++) {
            inputs[row * context + t] = tokens[offset + t];
            targets[row * context + t] = tokens[offset + t + 1];
        }
    }
}
