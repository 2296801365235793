package seed.stages.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link SseChunks} renders exactly the bytes the server's Jackson path rendered before (tree, then
 * {@code writeValueAsString}, then UTF-8): on tricky token texts and on random strings of every kind of char.
 */
class SseChunksTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final List<String> TRICKY = List.of("", "plain", "say \"hi\"", "back\\slash\\", "tab\there",
            "new\nline\r\n", "\b\f\u0000\u0001\u001f\u007f", "</script>/", "é ü ß", "日本語", "emoji 😀 🚀",
            "\uFFFD\uFFFD", "lone \uD800 high", "lone \uDC00 low", "\uDBFF\uDFFF", "end high \uD83D", "\u2028\u2029",
            "mixed \"\\\n😀\u0007ü");

    /** The bytes the Jackson tree of a chunk gives, as the server built it before SseChunks. */
    private static byte[] jackson(String id, boolean chat, long created, String model, int index, String delta,
            String finish) throws Exception {
        ObjectNode chunk = JSON.createObjectNode().put("id", id)
                .put("object", chat ? "chat.completion.chunk" : "text_completion").put("created", created)
                .put("model", model);
        ObjectNode choice = chunk.putArray("choices").addObject().put("index", index);
        if (chat) {
            ObjectNode d = choice.putObject("delta");
            if (!delta.isEmpty()) {
                d.put("content", delta);
            }
        } else {
            choice.put("text", delta);
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finish);
        return ("data: " + JSON.writeValueAsString(chunk) + "\n\n").getBytes(StandardCharsets.UTF_8);
    }

    private static void assertSame(String id, boolean chat, String model, int index, String delta, String finish)
            throws Exception {
        SseChunks sse = new SseChunks(id, chat, 1765000000L, model);
        sse.content(index, delta, finish);
        byte[] expected = jackson(id, chat, 1765000000L, model, index, delta, finish);
        assertArrayEquals(expected, sse.pending(), () -> "for " + Arrays.toString(delta.toCharArray()) + ": "
                + new String(expected, StandardCharsets.UTF_8) + " vs "
                + new String(sse.pending(), StandardCharsets.UTF_8));
    }

    @Test
    void trickyTextsRenderAsJacksonDoes() throws Exception {
        for (String text : TRICKY) {
            for (boolean chat : new boolean[] {true, false}) {
                assertSame("cmpl-abc", chat, "tiny", 0, text, null);
                assertSame("chatcmpl-\"q\"", chat, "model/\u00e9\n" + text, 13, text, "stop");
                assertSame("x", chat, text, 1234567, text, "length");
            }
        }
    }

    @Test
    void randomStringsOfEveryKindOfCharRenderAsJacksonDoes() throws Exception {
        Random random = new Random(42);
        for (int n = 0; n < 2000; n++) {
            StringBuilder s = new StringBuilder();
            for (int k = random.nextInt(12); k > 0; k--) {
                s.append(switch (random.nextInt(5)) {
                    case 0 -> (char) random.nextInt(0x80); // ASCII incl. controls, quote, backslash
                    case 1 -> (char) (0x80 + random.nextInt(0x780)); // two UTF-8 bytes
                    case 2 -> (char) random.nextInt(0x10000); // anything, lone surrogates included
                    case 3 -> new String(Character.toChars(0x10000 + random.nextInt(0x100000)));
                    default -> (char) (0xD800 + random.nextInt(0x800)); // a surrogate, paired by chance
                });
            }
            assertSame("cmpl-r", n % 2 == 0, "m", n, s.toString(), n % 3 == 0 ? "stop" : null);
        }
    }

    @Test
    void eventsAppendAndOneWriteSendsThemAll() throws Exception {
        SseChunks sse = new SseChunks("cmpl-1", false, 5, "m");
        sse.content(0, "a", null);
        sse.event("{\"k\":\"ü\"}");
        sse.content(1, "b", "stop");
        sse.done();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        sse.writeTo(out);
        List<String> events = new ArrayList<>(Arrays.asList(out.toString(StandardCharsets.UTF_8).split("\n\n")));
        assertEquals(4, events.size());
        assertEquals("data: {\"k\":\"ü\"}", events.get(1));
        assertEquals("data: [DONE]", events.get(3));
        assertEquals("b", JSON.readTree(events.get(2).substring(6)).path("choices").path(0).path("text").asText());
        assertEquals(0, sse.pending().length, "written means gone");
        sse.writeTo(out); // nothing to write: no empty chunk
        assertEquals(4, out.toString(StandardCharsets.UTF_8).split("\n\n").length);
    }
}
