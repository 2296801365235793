package seed.stages.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Text to token ids and back. Every stage sees text only through this interface, so the trivial byte tokenizer
 * and a trained byte-level BPE are interchangeable, and a checkpoint carries its tokenizer with it.
 *
 * <p>Seed's own tokenizers ({@link ByteTokenizer}, {@link BpeTokenizer}) have three special tokens: end of text, and
 * the markers that open the prompt and the response of an SFT example ({@code <|prompt|>...<|response|>...<|endoftext|>}).
 * A Hugging Face folder's tokenizer ({@link HfTokenizer}) has its own special tokens and no such markers; stages frame
 * conversations through {@code seed.stages.data.ChatFormat#of(Tokenizer)}, never through the markers directly.
 */
public interface Tokenizer {

    String END_OF_TEXT = "<|endoftext|>";
    String PROMPT = "<|prompt|>";
    String RESPONSE = "<|response|>";

    /**
     * Encodes plain text. Seed's tokenizers never turn special-token strings inside {@code text} into special ids;
     * {@link HfTokenizer} does, as {@code transformers} does (chat templates rely on it).
     */
    int[] encode(String text);

    /** Decodes ids to text; special ids are rendered as their strings. */
    String decode(int[] ids);

    int vocabSize();

    int endOfTextId();

    /** Seed's {@code <|prompt|>} id; a Hugging Face tokenizer has none and throws (use its ChatFormat). */
    int promptId();

    /** Seed's {@code <|response|>} id; a Hugging Face tokenizer has none and throws (use its ChatFormat). */
    int responseId();

    /** Short kind name written into checkpoints: "bytes", "bpe" (Seed's own) or "hf" (a Hugging Face folder's). */
    String kind();

    /** Writes what {@link #load(Path)} needs to rebuild this tokenizer into {@code dir} (e.g. tokenizer.json). */
    void save(Path dir) throws IOException;

    /**
     * Loads the tokenizer saved in {@code dir}: no {@code tokenizer.json} means bytes; one with Seed's three special
     * tokens is Seed's byte-level BPE (checked strictly, as always); any other is a Hugging Face folder's tokenizer
     * ({@link HfTokenizer}, with its tokenizer_config.json).
     */
    static Tokenizer load(Path dir) throws IOException {
        Path json = dir.resolve("tokenizer.json");
        if (Files.exists(json)) {
            return TokenizerJson.hasSeedSpecials(Files.readAllBytes(json)) ? BpeTokenizer.load(json) : HfTokenizer.load(dir);
        }
        return new ByteTokenizer();
    }
}
