package seed.stages.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2's byte-level conventions, shared by the BPE trainer and the tokenizer.json writer so that what we train is
 * exactly what HuggingFace's {@code ByteLevel} pre-tokenizer and decoder do at encode time: every UTF-8 byte is
 * shown as one printable Unicode character (so a vocabulary of strings can hold arbitrary bytes), and text is first
 * split into word-like pieces by GPT-2's regex so merges never cross word boundaries.
 */
public final class ByteLevel {

    /**
     * GPT-2's split regex, as HuggingFace's ByteLevel pre-tokenizer uses it ({@code use_regex: true}). Java needs
     * UNICODE_CHARACTER_CLASS so that {@code \s} means Unicode white space, as in Oniguruma and Python's regex.
     */
    public static final Pattern SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private static final char[] BYTE_TO_CHAR = new char[256];

    static {
        // bytes_to_unicode() of GPT-2: printable Latin-1 bytes stand for themselves, the other 68 bytes are
        // shifted to U+0100.. in byte order.
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + next++);
        }
    }

    private ByteLevel() {
    }

    /** The printable character that stands for byte {@code b} (0..255) in vocabularies and merges. */
    public static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xff];
    }

    /** Renders raw bytes as the byte-level string HuggingFace stores in {@code vocab} and {@code merges}. */
    public static String toVocabString(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_TO_CHAR[bytes[i] & 0xff];
        }
        return new String(out);
    }

    /** Splits text into GPT-2 pre-tokens (pieces that BPE merges never cross). */
    public static List<String> split(CharSequence text) {
        List<String> pieces = new ArrayList<>();
        Matcher m = SPLIT.matcher(text);
        while (m.find()) {
            pieces.add(m.group());
        }
        return pieces;
    }
}
