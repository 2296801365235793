package seed.stages.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.tokenizer.ByteTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The truncation rule and the chat template on byte tokens (one token per ASCII character). */
class TruncationTest {

    private final ByteTokenizer bytes = new ByteTokenizer();

    private String text(int[] ids, int from, int to) {
        return bytes.decode(Arrays.copyOfRange(ids, from, to));
    }

    @Test
    void anExampleThatFitsIsNeverCut() {
        ExampleEncoder e = new ExampleEncoder(bytes, Truncation.strict(), 20);
        ExampleEncoder.Encoded x = e.example("abcdefgh", "0123456", "f:1"); // 8 + 7 + 3 = 18 <= 20
        assertEquals(18, x.ids().length);
        assertTrue(x.ended());
        assertEquals(10, x.promptLength());
        assertEquals(0, e.promptsCut() + e.responsesCut() + e.dropped());
    }

    @Test
    void promptsLoseTheirBeginningAndResponsesTheirEnd() {
        Truncation t = new Truncation(20, 0, Truncation.Prompt.LEFT, Truncation.Response.RIGHT);
        ExampleEncoder e = new ExampleEncoder(bytes, t, 64);
        // the prompt gives way first: the response needs 6 + 1, so the prompt keeps 20 - 7 = 13 (11 text tokens)
        ExampleEncoder.Encoded a = e.example("0123456789abcdefghij", "RESP..", "f:1");
        assertEquals("9abcdefghij", text(a.ids(), 1, 12));
        assertEquals("RESP..", text(a.ids(), 13, 19));
        assertTrue(a.ended());
        // a long response: the prompt is cut to half of max length (10 = 8 text tokens), the response keeps its start
        ExampleEncoder.Encoded b = e.example("0123456789abcdefghij", "abcdefghijklmnopqrstuvwxyz", "f:2");
        assertEquals(20, b.ids().length);
        assertEquals("cdefghij", text(b.ids(), 1, 9));
        assertEquals("abcdefghij", text(b.ids(), 10, 20));
        assertFalse(b.ended(), "a response cut at the right has no end token");
        assertEquals(2, e.promptsCut());
        assertEquals(1, e.responsesCut());
        assertTrue(e.report().startsWith("2 example(s): 2 prompt(s) cut at the left, 1 with responses cut"), e.report());
    }

    @Test
    void theResponsesOfOnePromptShareOneCutPrompt() {
        Truncation t = new Truncation(16, 0, Truncation.Prompt.LEFT, Truncation.Response.RIGHT);
        List<ExampleEncoder.Encoded> g = new ExampleEncoder(bytes, t, 64).group("0123456789", List.of("ab", "abcdefgh"), "f:1");
        // budget: what the longest response (8 + end) leaves, 16 - 9 = 7, but at least half of 16 -> 6 prompt tokens
        // for both; the longer response then keeps 16 - 8 = 8 tokens, all of its text but not its end token
        assertEquals(g.get(0).promptLength(), g.get(1).promptLength());
        assertEquals("456789", text(g.get(0).ids(), 1, 7));
        assertEquals("456789", text(g.get(1).ids(), 1, 7));
        assertTrue(g.get(0).ended());
        assertFalse(g.get(1).ended());
    }

    @Test
    void errorsNameTheLineAndTheFlagAndDropSkips() {
        ExampleEncoder strict = new ExampleEncoder(bytes, Truncation.strict(), 16);
        IllegalArgumentException p = assertThrows(IllegalArgumentException.class,
                () -> strict.example("0123456789abcdef", "ok", "data.jsonl:7"));
        assertTrue(p.getMessage().startsWith("data.jsonl:7: the prompt has 18 tokens") && p.getMessage().contains("--truncate-prompt left"),
                p.getMessage());
        IllegalArgumentException r = assertThrows(IllegalArgumentException.class,
                () -> strict.example("hi", "0123456789abcdef", "data.jsonl:8"));
        assertTrue(r.getMessage().startsWith("data.jsonl:8: the response has 16 tokens") && r.getMessage().contains("--truncate-response right"),
                r.getMessage());
        ExampleEncoder drop = new ExampleEncoder(bytes, new Truncation(0, 0, Truncation.Prompt.LEFT, Truncation.Response.DROP), 16);
        assertNull(drop.example("hi", "0123456789abcdef", "x:1"));
        assertEquals(1, drop.dropped());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> drop.requireSome(0, "data.jsonl"));
        assertTrue(none.getMessage().contains("nothing usable is left in data.jsonl"), none.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Truncation.parse(0, 0, "middle", "right"));
        assertThrows(IllegalArgumentException.class, () -> new ExampleEncoder(bytes, new Truncation(99, 0,
                Truncation.Prompt.LEFT, Truncation.Response.RIGHT), 32));
    }

    @Test
    void promptsForGenerationLeaveRoomForTheNewTokens() {
        ExampleEncoder e = new ExampleEncoder(bytes, new Truncation(0, 8, Truncation.Prompt.LEFT, Truncation.Response.ERROR), 32);
        int[] ids = e.prompt("0123456789", 20, "p:1"); // cap 8 (hard) < 32 - 20
        assertEquals(8, ids.length);
        assertEquals(bytes.promptId(), ids[0]);
        assertEquals(bytes.responseId(), ids[7]);
        assertEquals("456789", text(ids, 1, 7));
    }

    @Test
    void oneChatTemplateForConversationsAndPlainPrompts(@TempDir Path dir) throws Exception {
        assertEquals("What is 2 plus 2?", ChatTemplate.render(List.of(new ChatTemplate.Message("user", "What is 2 plus 2?"))));
        assertEquals("System: Be brief.\nUser: Hi\nAssistant: Hello\nUser: 2+2?", ChatTemplate.render(List.of(
                new ChatTemplate.Message("system", "Be brief."), new ChatTemplate.Message("user", "Hi"),
                new ChatTemplate.Message("assistant", "Hello"), new ChatTemplate.Message("user", "2+2?"))));
        ObjectMapper json = new ObjectMapper();
        Path f = Files.writeString(dir.resolve("sft.jsonl"),
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}]}\n"
                        + "{\"prompt\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"Q\"}], "
                        + "\"completion\": [{\"role\": \"assistant\", \"content\": \"A\"}]}\n"
                        + "{\"prompt\": \"plain\", \"response\": \"text\"}\n");
        List<InstructionExample> ex = InstructionFile.read(f);
        assertEquals(new InstructionExample("Hi", "Hello", 1), ex.get(0));
        assertEquals(new InstructionExample("System: S\nUser: Q", "A", 2, List.of(new ChatTemplate.Message("system", "S"),
                new ChatTemplate.Message("user", "Q"))), ex.get(1)); // the conversation kept for chat templates
        assertEquals(new InstructionExample("plain", "text", 3), ex.get(2));
        Path bad = Files.writeString(dir.resolve("bad.jsonl"), "{\"prompt\": \"p\", \"response\": \"r\"}\n"
                + json.writeValueAsString(java.util.Map.of("messages", List.of(java.util.Map.of("role", "user", "content", "x")))) + "\n");
        Exception e = assertThrows(java.io.IOException.class, () -> InstructionFile.read(bad));
        assertTrue(e.getMessage().contains("bad.jsonl:2") && e.getMessage().contains("end with an assistant message"), e.getMessage());
        Path badRole = Files.writeString(dir.resolve("role.jsonl"),
                "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"y\"}]}\n");
        e = assertThrows(java.io.IOException.class, () -> InstructionFile.read(badRole));
        assertTrue(e.getMessage().contains("role.jsonl:1") && e.getMessage().contains("robot"), e.getMessage());
    }
}
