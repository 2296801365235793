package seed.stages.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A byte-level BPE tokenizer backed by HuggingFace's own tokenizers library (through DJL), so a tokenizer.json that
 * Seed trains is proven loadable and usable by the standard implementation, and Seed's checkpoints carry a file
 * any HuggingFace-compatible tool understands.
 *
 * <p>Special-token strings typed in user text stay plain text: HuggingFace would turn every occurrence of an added
 * token into its id, so {@link #encode} cuts the text right after the {@code "<|"} of each occurrence (a place
 * where GPT-2's split regex always has a boundary, so the ids equal those of the plain BPE) before handing pieces to
 * HuggingFace. Only the trainers put special ids into sequences.
 */
public final class BpeTokenizer implements Tokenizer, AutoCloseable {

    /** Options for DJL: no truncation at 512, no padding, no BOS/EOS added: ids are exactly the BPE of the text. */
    private static final Map<String, String> HF_OPTIONS = Map.of(
            "addSpecialTokens", "false", "truncation", "false", "padding", "false");
    private static final String[] SPECIALS = {END_OF_TEXT, PROMPT, RESPONSE};

    private final HuggingFaceTokenizer hf;
    private final byte[] json;
    private final TokenizerJson.Info info;

    private BpeTokenizer(HuggingFaceTokenizer hf, byte[] json, TokenizerJson.Info info) {
        this.hf = hf;
        this.json = json;
        this.info = info;
    }

    /** Loads a tokenizer.json file (or the tokenizer.json inside a directory); what {@link Tokenizer#load} calls. */
    public static BpeTokenizer load(Path tokenizerJson) throws IOException {
        Path file = Files.isDirectory(tokenizerJson) ? tokenizerJson.resolve("tokenizer.json") : tokenizerJson;
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "tokenizer.json does not exist");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IOException("cannot read tokenizer file " + file + ": " + e, e);
        }
        return fromJson(bytes, file.toString());
    }

    /** Builds a tokenizer from tokenizer.json bytes; {@code origin} names the source in error messages. */
    public static BpeTokenizer fromJson(byte[] json, String origin) throws IOException {
        TokenizerJson.Info info = TokenizerJson.check(json, origin);
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), HF_OPTIONS);
        } catch (RuntimeException e) {
            // The native library reports e.g. a merge that names an unknown token.
            throw new IOException(origin + " is not a tokenizer HuggingFace can load: " + e.getMessage(), e);
        }
        return new BpeTokenizer(hf, json.clone(), info);
    }

    /** Wraps a freshly trained model. */
    public static BpeTokenizer of(BpeModel model) {
        try {
            return fromJson(TokenizerJson.write(model), "trained model");
        } catch (IOException e) {
            throw new IllegalStateException("the trainer produced an unusable tokenizer.json", e);
        }
    }

    @Override
    public int[] encode(String text) {
        List<String> chunks = splitAtSpecials(withoutLoneSurrogates(text));
        List<int[]> parts = new ArrayList<>(chunks.size());
        int total = 0;
        for (String chunk : chunks) {
            long[] ids = encodeIds(chunk);
            int[] part = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                part[i] = (int) ids[i];
            }
            parts.add(part);
            total += part.length;
        }
        if (parts.size() == 1) {
            return parts.getFirst();
        }
        int[] out = new int[total];
        int pos = 0;
        for (int[] part : parts) {
            System.arraycopy(part, 0, out, pos, part.length);
            pos += part.length;
        }
        return out;
    }

    /**
     * Ids only, through DJL's JNI binding of the same HuggingFace tokenizer: {@code HuggingFaceTokenizer.encode}
     * also copies tokens, offsets and masks into Java, which halves the speed (measured 410k vs 230k tokens/s).
     * The handle carries the truncation/padding settings made at load, so the ids are identical.
     */
    private long[] encodeIds(String chunk) {
        long encoding = TokenizersLibrary.LIB.encode(hf.getHandle(), chunk, false);
        try {
            return TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    /**
     * A Java string may hold an unpaired surrogate (not valid Unicode); through JNI it would become three U+FFFD.
     * Replace each by one U+FFFD, as a UTF-8 encoder would, so one bad char costs one replacement.
     */
    static String withoutLoneSurrogates(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean paired = Character.isHighSurrogate(c) ? i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))
                    : !Character.isLowSurrogate(c) || (i > 0 && Character.isHighSurrogate(text.charAt(i - 1)));
            if (Character.isSurrogate(c) && !paired) {
                if (out == null) {
                    out = new StringBuilder(text.length()).append(text, 0, i);
                }
                out.append('\uFFFD');
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? text : out.toString();
    }

    /**
     * Cuts text so no piece contains a whole special-token string: after the first two characters ("<|") of each
     * occurrence. The next character is a letter, so GPT-2's regex ends a piece there anyway.
     */
    static List<String> splitAtSpecials(String text) {
        List<String> chunks = new ArrayList<>(1);
        int start = 0;
        while (true) {
            int first = -1;
            for (String s : SPECIALS) {
                int at = text.indexOf(s, start);
                if (at >= 0 && (first < 0 || at < first)) {
                    first = at;
                }
            }
            if (first < 0) {
                break;
            }
            chunks.add(text.substring(start, first + 2));
            start = first + 2;
        }
        chunks.add(text.substring(start));
        return chunks;
    }

    @Override
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= info.vocabSize()) {
                throw new IllegalArgumentException("token id " + ids[i] + " is outside the BPE vocabulary (" + info.vocabSize() + ")");
            }
            l[i] = ids[i];
        }
        return hf.decode(l, false);
    }

    @Override public int vocabSize() { return info.vocabSize(); }
    @Override public int endOfTextId() { return info.endOfTextId(); }
    @Override public int promptId() { return info.promptId(); }
    @Override public int responseId() { return info.responseId(); }
    @Override public String kind() { return "bpe"; }

    /** Number of merges in the file (for reports). */
    public int merges() {
        return info.merges();
    }

    /** The exact tokenizer.json bytes this tokenizer was built from (what {@link #save} writes). */
    public byte[] json() {
        return json.clone();
    }

    /** Writes tokenizer.json into {@code dir} atomically: a temp file in the same directory, then a rename. */
    @Override
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        HfTokenizer.writeAtomically(dir, "tokenizer.json", json);
    }

    /** Frees the native HuggingFace tokenizer. */
    @Override
    public void close() {
        hf.close();
    }
}
