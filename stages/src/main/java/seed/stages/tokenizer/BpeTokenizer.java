package seed.stages.tokenizer;

import java.io.IOException;
import java.nio.file.Path;

/** Placeholder until the byte-level BPE lands (being written now); replaced entirely by it. */
public final class BpeTokenizer {
    private BpeTokenizer() {
    }

    public static Tokenizer load(Path tokenizerJson) throws IOException {
        throw new IOException("BPE tokenizer not available yet: " + tokenizerJson);
    }
}
