package seed.stages.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import seed.stages.generate.Generator;
import seed.stages.generate.SamplingSettings;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;

/**
 * Continuous batching: sequences that join a running batch at different moments, with prompts of different lengths
 * and their own settings, and leave it at different moments, each generate exactly what they generate alone.
 */
class DecodeLoopTest {

    private final ByteTokenizer tokenizer = new ByteTokenizer();

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void sequencesJoiningAndLeavingAMovingBatchGenerateWhatTheyGenerateAlone(String family) throws Exception {
        GptConfig config = family.equals("gpt2") ? new GptConfig(259, 64, 2, 32, 4)
                : GptConfig.llama(259, 64, 2, 32, 4, 2, 0);
        try (Gpt model = Gpt.initialize(config, 5)) {
            String[] prompts = {"a", "a longer prompt here", "mid", "another one that is long"};
            int[] lengths = {40, 12, 25, 8};
            SamplingSettings[] settings = new SamplingSettings[prompts.length];
            List<int[]> alone = new ArrayList<>();
            Generator generator = new Generator(model, tokenizer);
            for (int i = 0; i < prompts.length; i++) {
                settings[i] = new SamplingSettings(i % 2 == 0 ? 0f : 1f, 0, 1f, lengths[i], List.of(), 10 + i, true)
                        .withPenalties(i == 2 ? 0.5f : 0f, 0f, i == 3 ? 1.3f : 1f, 0f);
                alone.add(generator.generate(List.of(tokenizer.encode(prompts[i])), settings[i]).get(0).tokens());
            }
            List<List<Integer>> together = new ArrayList<>();
            List<BlockingQueue<Sequence.Event>> queues = new ArrayList<>();
            try (DecodeLoop loop = new DecodeLoop(model, tokenizer, 8)) {
                for (int i = 0; i < prompts.length; i++) {
                    queues.add(new LinkedBlockingQueue<>());
                    together.add(new ArrayList<>());
                }
                // the first runs alone for a while; the others join one by one while it (and they) run
                loop.submit(0, tokenizer.encode(prompts[0]), settings[0], Sequence.Options.plain(), queues.get(0));
                for (int i = 1; i < prompts.length; i++) {
                    awaitTokens(queues.get(0), together.get(0), 3 * i);
                    loop.submit(i, tokenizer.encode(prompts[i]), settings[i], Sequence.Options.plain(),
                            queues.get(i));
                }
                for (int i = 0; i < prompts.length; i++) {
                    awaitTokens(queues.get(i), together.get(i), Integer.MAX_VALUE);
                }
                assertTrue(loop.stats().contains("merges="), loop.stats());
            }
            for (int i = 0; i < prompts.length; i++) {
                int[] got = together.get(i).stream().mapToInt(Integer::intValue).toArray();
                int[] expected = alone.get(i);
                // the generator stops at the end token as the loop does
                assertArrayEquals(expected, got, "sequence " + i);
            }
        }
    }

    /**
     * A finished sequence's row may stay in the batch for a while (rebuilding the cache at every end costs more than
     * stepping it along), but never past the context: here the first sequence ends exactly at the context while two
     * others, a third of the batch each, still run, so its row must leave then or the next step would overflow.
     */
    @org.junit.jupiter.api.Test
    void aFinishedRowLeavesBeforeItWouldRunPastTheContext() throws Exception {
        GptConfig config = new GptConfig(259, 32, 2, 32, 4);
        try (Gpt model = Gpt.initialize(config, 6)) {
            int[][] prompts = {tokenizer.encode("abc"), tokenizer.encode("x"), tokenizer.encode("y")};
            SamplingSettings[] settings = new SamplingSettings[3];
            for (int i = 0; i < 3; i++) {
                settings[i] = new SamplingSettings(1f, 0, 1f, 32 - prompts[i].length, List.of(), 20 + i, true);
            }
            List<List<Integer>> together = new ArrayList<>();
            List<BlockingQueue<Sequence.Event>> queues = new ArrayList<>();
            Sequence.Options noEos = new Sequence.Options(0, false, false, true);
            try (DecodeLoop loop = new DecodeLoop(model, tokenizer, 8)) {
                for (int i = 0; i < 3; i++) {
                    queues.add(new LinkedBlockingQueue<>());
                    together.add(new ArrayList<>());
                }
                loop.submit(0, prompts[0], settings[0], noEos, queues.get(0));
                awaitTokens(queues.get(0), together.get(0), 5);
                loop.submit(1, prompts[1], settings[1], noEos, queues.get(1));
                loop.submit(2, prompts[2], settings[2], noEos, queues.get(2));
                for (int i = 0; i < 3; i++) {
                    awaitTokens(queues.get(i), together.get(i), Integer.MAX_VALUE);
                }
                assertTrue(loop.stats().contains("dead_rows="), loop.stats());
            }
            for (int i = 0; i < 3; i++) {
                assertEquals(32 - prompts[i].length, together.get(i).size(), "sequence " + i + " ran to the context");
            }
        }
    }

    /** Reads a sequence's events until it has {@code count} tokens or has finished. */
    private static void awaitTokens(BlockingQueue<Sequence.Event> events, List<Integer> tokens, int count)
            throws InterruptedException {
        while (tokens.size() < count) {
            Sequence.Event e = events.poll(30, TimeUnit.SECONDS);
            if (e == null) {
                throw new AssertionError("no event for 30 s");
            }
            if (e instanceof Sequence.Token t) {
                tokens.add(t.token());
            } else if (e instanceof Sequence.Finished) {
                return;
            } else if (e instanceof Sequence.Failed f) {
                throw new AssertionError(f.message());
            }
        }
    }
}
