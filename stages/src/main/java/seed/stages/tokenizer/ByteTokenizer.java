package seed.stages.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The trivial tokenizer: one id per UTF-8 byte (0..255) plus the three special tokens (256..258).
 * Needs no training and no files; the default for pretraining benchmarks.
 */
public final class ByteTokenizer implements Tokenizer {

    private static final int EOT = 256, PROMPT_ID = 257, RESPONSE_ID = 258;

    @Override
    public int[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = bytes[i] & 0xff;
        }
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder out = new StringBuilder();
        ByteArrayOutputStream run = new ByteArrayOutputStream();
        for (int id : ids) {
            if (id < 256) {
                run.write(id);
                continue;
            }
            out.append(run.toString(StandardCharsets.UTF_8));
            run.reset();
            out.append(switch (id) {
                case EOT -> END_OF_TEXT;
                case PROMPT_ID -> PROMPT;
                case RESPONSE_ID -> RESPONSE;
                default -> throw new IllegalArgumentException("token id " + id + " is outside the byte vocabulary (259)");
            });
        }
        return out.append(run.toString(StandardCharsets.UTF_8)).toString();
    }

    @Override public int vocabSize() { return 259; }
    @Override public int endOfTextId() { return EOT; }
    @Override public int promptId() { return PROMPT_ID; }
    @Override public int responseId() { return RESPONSE_ID; }
    @Override public String kind() { return "bytes"; }

    /** Nothing to write: the absence of tokenizer.json means bytes. */
    @Override
    public void save(Path dir) {
    }
}
