package seed.stages.serve;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The server-sent events of one streamed response, rendered without a JSON tree per token: the constant head of
 * every chunk ({@code id}, {@code object}, {@code created}, {@code model}) is rendered once per request, and a token's
 * chunk only appends its choice index, its escaped text and its finish reason to one byte buffer the stream reuses.
 * Exists because at several concurrent streams building, serialising and encoding a Jackson tree per token cost the
 * server as much CPU per token as the model. The bytes equal Jackson's rendering of the same chunk
 * ({@code SseChunksTest} compares them), so clients see no difference.
 */
final class SseChunks {

    private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NULL = bytes("null");

    private final boolean chat;
    /** {@code data: {"id":...,"model":"...","choices":[{"index":}. */
    private final byte[] head;
    private byte[] buf = new byte[1024];
    private int size;

    /** The chunks of response {@code id} ({@code chat}: chat.completion.chunk, else text_completion). */
    SseChunks(String id, boolean chat, long created, String model) {
        this.chat = chat;
        SseChunks h = new SseChunks(chat);
        h.ascii("data: {\"id\":").string(id).ascii(",\"object\":")
                .string(chat ? "chat.completion.chunk" : "text_completion").ascii(",\"created\":")
                .ascii(Long.toString(created)).ascii(",\"model\":").string(model)
                .ascii(",\"choices\":[{\"index\":");
        this.head = java.util.Arrays.copyOf(h.buf, h.size);
    }

    private SseChunks(boolean chat) {
        this.chat = chat;
        this.head = new byte[0];
    }

    /**
     * Appends the chunk of choice {@code index} with new text {@code delta} (chat: no {@code content} when empty),
     * {@code logprobs} null and {@code finishReason} (null while running): the shape of every chunk without
     * log-probabilities.
     */
    void content(int index, String delta, String finishReason) {
        raw(head, head.length).ascii(Integer.toString(index));
        if (chat) {
            ascii(",\"delta\":{");
            if (!delta.isEmpty()) {
                ascii("\"content\":").string(delta);
            }
            ascii("}");
        } else {
            ascii(",\"text\":").string(delta);
        }
        ascii(",\"logprobs\":null,\"finish_reason\":");
        if (finishReason == null) {
            raw(NULL, NULL.length);
        } else {
            string(finishReason);
        }
        ascii("}]}\n\n");
    }

    /** Appends an event whose JSON was rendered elsewhere (rare chunks: logprobs, usage, errors). */
    void event(String json) {
        ascii("data: ");
        utf8(json);
        ascii("\n\n");
    }

    /** Appends {@code data: [DONE]}, the end of an OpenAI stream. */
    void done() {
        ascii("data: [DONE]\n\n");
    }

    /** Writes what was appended since the last write as one chunk and flushes it; nothing when nothing was. */
    void writeTo(OutputStream out) throws IOException {
        if (size > 0) {
            out.write(buf, 0, size);
            out.flush();
            size = 0;
        }
    }

    /** The bytes appended and not written yet (for tests). */
    byte[] pending() {
        return java.util.Arrays.copyOf(buf, size);
    }

    private SseChunks ascii(String s) {
        ensure(s.length());
        for (int i = 0; i < s.length(); i++) {
            buf[size++] = (byte) s.charAt(i);
        }
        return this;
    }

    private SseChunks raw(byte[] b, int n) {
        ensure(n);
        System.arraycopy(b, 0, buf, size, n);
        size += n;
        return this;
    }

    /**
     * Appends {@code s} as a JSON string the way Jackson writes one: {@code "} and {@code \} escaped, control
     * characters as {@code \b \t \n \f \r} or {@code \\u00} and two upper-case hex digits, everything else as
     * UTF-8 (a lone surrogate as {@code ?}, what {@link String#getBytes} makes of it).
     */
    SseChunks string(String s) {
        ensure(2);
        buf[size++] = '"';
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                ensure(1);
                buf[size++] = (byte) c;
            } else if (c < 0x80) {
                escape(c);
            } else {
                i = encode(s, i);
            }
        }
        ensure(1);
        buf[size++] = '"';
        return this;
    }

    private void escape(char c) {
        ensure(6);
        buf[size++] = '\\';
        switch (c) {
            case '"' -> buf[size++] = '"';
            case '\\' -> buf[size++] = '\\';
            case '\b' -> buf[size++] = 'b';
            case '\t' -> buf[size++] = 't';
            case '\n' -> buf[size++] = 'n';
            case '\f' -> buf[size++] = 'f';
            case '\r' -> buf[size++] = 'r';
            default -> {
                buf[size++] = 'u';
                buf[size++] = '0';
                buf[size++] = '0';
                buf[size++] = HEX[c >> 4];
                buf[size++] = HEX[c & 0xf];
            }
        }
    }

    /** Appends {@code s} as UTF-8, unescaped. */
    private void utf8(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                ensure(1);
                buf[size++] = (byte) c;
            } else {
                i = encode(s, i);
            }
        }
    }

    /** Appends the non-ASCII char at {@code i} (two for a surrogate pair) as UTF-8; returns the last index used. */
    private int encode(String s, int i) {
        char c = s.charAt(i);
        ensure(4);
        if (c < 0x800) {
            buf[size++] = (byte) (0xc0 | (c >> 6));
            buf[size++] = (byte) (0x80 | (c & 0x3f));
        } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
            int cp = Character.toCodePoint(c, s.charAt(i + 1));
            buf[size++] = (byte) (0xf0 | (cp >> 18));
            buf[size++] = (byte) (0x80 | ((cp >> 12) & 0x3f));
            buf[size++] = (byte) (0x80 | ((cp >> 6) & 0x3f));
            buf[size++] = (byte) (0x80 | (cp & 0x3f));
            return i + 1;
        } else if (Character.isSurrogate(c)) {
            buf[size++] = '?';
        } else {
            buf[size++] = (byte) (0xe0 | (c >> 12));
            buf[size++] = (byte) (0x80 | ((c >> 6) & 0x3f));
            buf[size++] = (byte) (0x80 | (c & 0x3f));
        }
        return i;
    }

    private void ensure(int more) {
        if (size + more > buf.length) {
            buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, size + more));
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
