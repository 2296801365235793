package seed.stages.serve;

import java.util.Arrays;
import java.util.List;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.tokenizer.Tokenizer;

/**
 * The text of one choice as its tokens arrive: the visible text (special tokens left out, cut at the first stop
 * string), and for streaming the part that is safe to send now, holding back an unfinished UTF-8 character (a
 * byte-level token can end inside one) and a tail that may still become a stop string.
 */
final class TextAssembler {

    private final Tokenizer tokenizer;
    private final List<String> stops;
    private int[] tokens = new int[64]; // no boxing: text() runs once per streamed chunk
    private int count;
    /** Byte tokenizer only: the visible text of tokens [0, decoded), so a chunk decodes only the new tokens. */
    private final StringBuilder committed = new StringBuilder();
    private int decoded;
    private int sent;

    TextAssembler(Tokenizer tokenizer, List<String> stops) {
        this.tokenizer = tokenizer;
        this.stops = stops;
    }

    void add(int token) {
        if (count == tokens.length) {
            tokens = Arrays.copyOf(tokens, count * 2);
        }
        tokens[count++] = token;
    }

    int count() {
        return count;
    }

    /** The whole visible text, cut at the first stop string. */
    String text() {
        String text = tokenizer instanceof ByteTokenizer ? byteText()
                : visible(tokenizer, Arrays.copyOf(tokens, count));
        int cut = text.length();
        for (String stop : stops) {
            int at = stop.isEmpty() ? -1 : text.indexOf(stop);
            if (at >= 0) {
                cut = Math.min(cut, at);
            }
        }
        return text.substring(0, cut);
    }

    /** Text not sent yet that is safe to send; everything left when {@code done}. */
    String delta(boolean done) {
        String text = text();
        int safe = text.length();
        if (!done) {
            while (safe > 0 && text.charAt(safe - 1) == '\uFFFD') {
                safe--;
            }
            int end = safe;
            for (String stop : stops) {
                for (int n = Math.min(stop.length() - 1, end); n > 0; n--) {
                    if (text.regionMatches(end - n, stop, 0, n)) {
                        safe = Math.min(safe, end - n);
                        break;
                    }
                }
            }
        }
        if (safe <= sent) {
            return "";
        }
        String out = text.substring(sent, safe);
        sent = safe;
        return out;
    }

    /**
     * The visible text of a byte tokenizer's tokens, decoding only what came since the last call: UTF-8 decoding
     * starts afresh at every byte that is not a continuation byte (10xxxxxx), so the text up to the last such byte is
     * final and is kept; only the tail from there (at most a character in progress) is decoded again.
     */
    private String byteText() {
        int split = count - 1;
        while (split > decoded && (tokens[split] > 0xff || (tokens[split] & 0xc0) == 0x80)) {
            split--; // a special token (left out of the text) or a continuation byte
        }
        if (split > decoded) {
            committed.append(visible(tokenizer, Arrays.copyOfRange(tokens, decoded, split)));
            decoded = split;
        }
        return committed + visible(tokenizer, Arrays.copyOfRange(tokens, decoded, count));
    }

    /** Decodes without special tokens (they frame or end a response; they are not part of its text). */
    static String visible(Tokenizer tokenizer, int[] tokens) {
        int[] plain = new int[tokens.length];
        int n = 0;
        for (int t : tokens) {
            boolean special = tokenizer instanceof seed.stages.tokenizer.HfTokenizer hf ? hf.isSpecial(t)
                    : t == tokenizer.endOfTextId() || t == tokenizer.promptId() || t == tokenizer.responseId();
            if (!special) {
                plain[n++] = t;
            }
        }
        return tokenizer.decode(n == plain.length ? plain : Arrays.copyOf(plain, n));
    }
}
