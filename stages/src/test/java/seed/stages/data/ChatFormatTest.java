package seed.stages.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.tokenizer.HfFolders;
import seed.stages.tokenizer.HfTokenizer;
import seed.stages.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Chat formats: Seed's own framing gives today's ids exactly; real Hugging Face chat templates (ChatML as Qwen2
 * ships it, Llama 3, Llama 2 with raise_exception) render conversations to the exact strings transformers renders,
 * and their prompts, responses and stop tokens line up; a folder without a template gets Seed's default.
 */
class ChatFormatTest {

    static final String CORPUS = ("What is 2 plus 2? The answer is 4. And 3 plus 4? That is 7. You are a helpful assistant.\n"
            + "user assistant system Be brief. Café 東京\n").repeat(50);
    static final List<ChatTemplate.Message> THREE_TURNS = List.of(
            new ChatTemplate.Message("user", "What is 2 plus 2?"),
            new ChatTemplate.Message("assistant", "4."),
            new ChatTemplate.Message("user", "  And 3 plus 4?\n"));

    @TempDir
    Path tmp;

    @Test
    void seedFormatGivesTodaysIds() {
        Tokenizer bytes = new ByteTokenizer();
        ChatFormat f = ChatFormat.of(bytes);
        assertInstanceOf(SeedChatFormat.class, f);
        // <|prompt|> H i <|response|> Y o <|endoftext|> with the byte tokenizer's ids 257, 258, 256
        ExampleEncoder.Encoded e = new ExampleEncoder(bytes, Truncation.strict(), 64).example("Hi", "Yo", "t:1");
        assertArrayEquals(new int[] {257, 'H', 'i', 258, 'Y', 'o', 256}, e.ids());
        assertEquals(4, e.promptLength());
        assertTrue(e.ended());
        ExampleEncoder.Encoded conv = new ExampleEncoder(bytes, Truncation.strict(), 128)
                .example(THREE_TURNS, "7.", "t:2");
        int[] text = bytes.encode("User: What is 2 plus 2?\nAssistant: 4.\nUser:   And 3 plus 4?\n");
        int[] expected = new int[text.length + 5];
        expected[0] = 257;
        System.arraycopy(text, 0, expected, 1, text.length);
        expected[text.length + 1] = 258;
        expected[text.length + 2] = '7';
        expected[text.length + 3] = '.';
        expected[text.length + 4] = 256;
        assertArrayEquals(expected, conv.ids());
        assertEquals(text.length + 2, f.responseStart(conv.ids()));
        assertTrue(f.endsResponse(256));
        assertFalse(f.endsResponse('.'));
        assertEquals("ok", f.visibleText(new int[] {'o', 'k', 256}));
    }

    @Test
    void seedBpeExampleIsTodaysFraming() throws IOException {
        try (seed.stages.tokenizer.BpeTokenizer bpe = seed.stages.tokenizer.BpeTokenizer.of(
                seed.stages.tokenizer.BpeTrainer.train(CORPUS, 300, line -> { }).model())) {
            int[] p = bpe.encode("What is 2 plus 2?"), r = bpe.encode(" 4.");
            int[] expected = HfTokenizerTestAccess.concat(new int[] {257}, p, new int[] {258}, r, new int[] {256});
            assertArrayEquals(expected, new ExampleEncoder(bpe, Truncation.strict(), 64).example("What is 2 plus 2?", " 4.", "t").ids());
            assertArrayEquals(Arrays.copyOf(expected, p.length + 2),
                    new ExampleEncoder(bpe, Truncation.strict(), 64).prompt("What is 2 plus 2?", 8, "t"));
        }
    }

    @Test
    void sftConversationsReachTheTemplateAsMessages() throws IOException {
        Path data = java.nio.file.Files.writeString(tmp.resolve("sft.jsonl"), "{\"messages\": ["
                + "{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi\"}, "
                + "{\"role\": \"assistant\", \"content\": \"Hello!\"}]}\n");
        InstructionExample example = InstructionFile.read(data).get(0);
        assertEquals("System: Be brief.\nUser: Hi", example.prompt()); // Seed's rendering, as before
        try (HfTokenizer tok = HfTokenizer.load(HfFolders.byteLevel(tmp.resolve("qwen"), CORPUS, 320,
                List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
                Map.of("eos_token", "<|im_end|>", "chat_template", HfFolders.CHATML_TEMPLATE)))) {
            int[] ids = new ExampleEncoder(tok, Truncation.strict(), 256).example(example.conversation(), example.response(), "t").ids();
            assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                    + "<|im_start|>assistant\nHello!<|im_end|>\n", tok.decode(ids));
        }
    }

    @Test
    void chatMlTemplateRendersThreeTurnsExactly() throws IOException {
        try (HfTokenizer tok = HfTokenizer.load(HfFolders.byteLevel(tmp.resolve("qwen"), CORPUS, 320,
                List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
                Map.of("eos_token", "<|im_end|>", "pad_token", "<|endoftext|>", "chat_template", HfFolders.CHATML_TEMPLATE)))) {
            JinjaChatFormat f = assertInstanceOf(JinjaChatFormat.class, ChatFormat.of(tok));
            assertEquals("chat_template", f.name());
            String expected = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                    + "<|im_start|>user\nWhat is 2 plus 2?<|im_end|>\n"
                    + "<|im_start|>assistant\n4.<|im_end|>\n"
                    + "<|im_start|>user\n  And 3 plus 4?\n<|im_end|>\n"
                    + "<|im_start|>assistant\n";
            assertEquals(expected, f.render(THREE_TURNS, true));
            ChatFormat.PromptIds p = f.prompt(THREE_TURNS);
            assertArrayEquals(tok.encode(expected), p.ids());
            int imStart = tok.idOf("<|im_start|>").getAsInt(), imEnd = tok.idOf("<|im_end|>").getAsInt();
            assertEquals(imStart, p.ids()[0]);
            assertArrayEquals(tok.encode("<|im_end|>\n<|im_start|>assistant\n"), p.tail()); // kept by truncation
            ChatFormat.ResponseIds r = f.response(THREE_TURNS, "7.");
            assertArrayEquals(tok.encode("7."), r.text());
            assertArrayEquals(tok.encode("<|im_end|>\n"), r.end());
            assertTrue(f.endsResponse(imEnd));
            assertEquals("7.", f.visibleText(HfTokenizerTestAccess.concat(r.text(), new int[] {imEnd})));
            int[] seq = HfTokenizerTestAccess.concat(p.ids(), r.text(), r.end());
            assertEquals(p.length(), f.responseStart(seq));

            ExampleEncoder.Encoded e = new ExampleEncoder(f, Truncation.strict(), 512).example(THREE_TURNS, "7.", "t:1");
            assertArrayEquals(seq, e.ids());
            assertEquals(p.length(), e.promptLength());
        }
    }

    @Test
    void llama3TemplateTrimsAndStartsWithBos() throws IOException {
        List<String> specials = List.of("<|end_of_text|>", "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>",
                "<|end_header_id|>");
        try (HfTokenizer tok = HfTokenizer.load(HfFolders.byteLevel(tmp.resolve("llama3"), CORPUS, 320, specials,
                Map.of("bos_token", "<|begin_of_text|>", "eos_token", "<|eot_id|>", "chat_template", HfFolders.LLAMA3_TEMPLATE)))) {
            JinjaChatFormat f = JinjaChatFormat.of(tok);
            String expected = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2 plus 2?<|eot_id|>"
                    + "<|start_header_id|>assistant<|end_header_id|>\n\n4.<|eot_id|>"
                    + "<|start_header_id|>user<|end_header_id|>\n\nAnd 3 plus 4?<|eot_id|>"
                    + "<|start_header_id|>assistant<|end_header_id|>\n\n";
            assertEquals(expected, f.render(THREE_TURNS, true));
            ChatFormat.PromptIds p = f.prompt(THREE_TURNS);
            assertArrayEquals(new int[] {tok.bosId().getAsInt()}, p.head());
            ChatFormat.PromptIds cut = p.keepLast(3);
            assertEquals(tok.bosId().getAsInt(), cut.ids()[0]);
            assertArrayEquals(p.tail(), Arrays.copyOfRange(cut.ids(), cut.length() - p.tail().length, cut.length()));
            int eot = tok.idOf("<|eot_id|>").getAsInt();
            assertArrayEquals(new int[] {eot}, f.response(THREE_TURNS, " 7. ").end());
            assertArrayEquals(tok.encode("7."), f.response(THREE_TURNS, " 7. ").text()); // the template trims content
            assertArrayEquals(new int[] {eot}, f.endOfTurn());
        }
    }

    @Test
    void llama2TemplateRaisesItsExceptionAndEndsWithEos() throws IOException {
        try (HfTokenizer tok = HfTokenizer.load(HfFolders.byteFallback(tmp.resolve("llama2"), Map.of(
                "bos_token", "<s>", "eos_token", "</s>", "chat_template", HfFolders.LLAMA2_TEMPLATE)))) {
            JinjaChatFormat f = JinjaChatFormat.of(tok);
            List<ChatTemplate.Message> withSystem = List.of(new ChatTemplate.Message("system", "Be brief."),
                    THREE_TURNS.get(0), THREE_TURNS.get(1), THREE_TURNS.get(2));
            assertEquals("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWhat is 2 plus 2? [/INST] 4. </s><s>[INST] And 3 plus 4? [/INST]",
                    f.render(withSystem, true));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.render(List.of(
                    new ChatTemplate.Message("user", "a"), new ChatTemplate.Message("user", "b")), true));
            assertTrue(e.getMessage().contains("Conversation roles must alternate"), e.getMessage());
            ChatFormat.ResponseIds r = f.response(THREE_TURNS, "7.");
            assertEquals(tok.endOfTextId(), r.end()[r.end().length - 1]);
            assertTrue(f.endsResponse(tok.endOfTextId()));
            assertEquals("7.", f.visibleText(HfTokenizerTestAccess.concat(r.text(), new int[] {tok.endOfTextId()})));
        }
    }

    @Test
    void aFolderWithoutTemplateGetsSeedsDefault() throws IOException {
        try (HfTokenizer tok = HfTokenizer.load(HfFolders.byteLevel(tmp.resolve("gpt2"), CORPUS, 320,
                List.of("<|endoftext|>"), null))) {
            JinjaChatFormat f = assertInstanceOf(JinjaChatFormat.class, ChatFormat.of(tok));
            assertEquals("default_template", f.name());
            assertEquals("User: What is 2 plus 2?\nAssistant: 4.<|endoftext|>User:   And 3 plus 4?\n\nAssistant:",
                    f.render(THREE_TURNS, true));
            ChatFormat.ResponseIds r = f.response(THREE_TURNS, "7.");
            assertArrayEquals(tok.encode(" 7."), r.text());
            assertArrayEquals(new int[] {tok.endOfTextId()}, r.end());
            assertEquals("7.", f.visibleText(HfTokenizerTestAccess.concat(r.text(), r.end())));
            int[] seq = HfTokenizerTestAccess.concat(f.prompt(THREE_TURNS).ids(), r.text(), r.end());
            assertEquals(f.prompt(THREE_TURNS).length(), f.responseStart(seq));
        }
    }

    /** Small array helper shared by these tests. */
    static final class HfTokenizerTestAccess {
        static int[] concat(int[]... parts) {
            return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
        }
    }
}
