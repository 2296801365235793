package seed.stages.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import seed.stages.tokenizer.ByteTokenizer;

/**
 * {@link TextAssembler}'s incremental decoding of byte tokens gives, after every token, exactly the text of decoding
 * all tokens so far at once: on valid UTF-8 cut anywhere, invalid and truncated sequences, and special tokens between
 * the bytes of a character.
 */
class TextAssemblerTest {

    private static final ByteTokenizer TOKENIZER = new ByteTokenizer();

    private static void assertIncrementalEqualsWhole(int[] tokens, List<String> stops) {
        TextAssembler text = new TextAssembler(TOKENIZER, stops);
        TextAssembler streamed = new TextAssembler(TOKENIZER, stops);
        StringBuilder deltas = new StringBuilder();
        for (int i = 0; i < tokens.length; i++) {
            text.add(tokens[i]);
            streamed.add(tokens[i]);
            String whole = TextAssembler.visible(TOKENIZER, Arrays.copyOf(tokens, i + 1));
            for (String stop : stops) {
                int at = whole.indexOf(stop);
                whole = at >= 0 ? whole.substring(0, at) : whole;
            }
            assertEquals(whole, text.text(), "after token " + i + " of " + Arrays.toString(tokens));
            deltas.append(streamed.delta(false));
        }
        deltas.append(streamed.delta(true));
        assertEquals(text.text(), deltas.toString(), "the deltas add up to the text");
    }

    @Test
    void validUtf8CutAnywhere() {
        assertIncrementalEqualsWhole(TOKENIZER.encode("héllo wörld 日本語 😀 end"), List.of());
        assertIncrementalEqualsWhole(TOKENIZER.encode("a€b€c"), List.of("€c"));
    }

    @Test
    void randomBytesAndSpecialTokens() {
        Random random = new Random(7);
        for (int n = 0; n < 500; n++) {
            int[] tokens = new int[random.nextInt(40)];
            for (int i = 0; i < tokens.length; i++) {
                int kind = random.nextInt(10);
                tokens[i] = kind == 0 ? 256 + random.nextInt(3) // a special token, left out of the text
                        : kind < 4 ? 0x80 + random.nextInt(0x40) // a continuation byte
                        : kind < 6 ? 0xc0 + random.nextInt(0x40) // a lead byte
                        : random.nextInt(0x80);
            }
            assertIncrementalEqualsWhole(tokens, n % 2 == 0 ? List.of() : List.of("a", "\uFFFD\uFFFD"));
        }
    }
}
