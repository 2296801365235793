package seed.stages.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;

/** Sampling is reproducible, and the KV cache changes speed, never the tokens. */
class GeneratorTest {

    private final ByteTokenizer tokenizer = new ByteTokenizer();

    @Test
    void repeatedPromptsArePrefilledOnceAndSampleWhatAFullRecomputeSamples() {
        try (Gpt model = Gpt.initialize(new GptConfig(259, 32, 2, 32, 4), 9)) {
            Generator generator = new Generator(model, tokenizer);
            int[] p = tokenizer.encode("Hello");
            int[] q = tokenizer.encode("Other prompt");
            List<int[]> prompts = List.of(p, p, q, p); // k samples of a prompt, as RLOO/GRPO rollouts ask for
            assertEquals(2, Generator.SharedPrompts.of(prompts).distinct().size());
            SamplingSettings settings = new SamplingSettings(1.0f, 20, 0.95f, 18, List.of(), 5, true);
            List<Generation> shared = generator.generate(prompts, settings);
            List<Generation> full = generator.generate(prompts, settings.withKvCache(false));
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(full.get(i).tokens(), shared.get(i).tokens(), "row " + i);
            }
            assertNotEquals(java.util.Arrays.toString(shared.get(0).tokens()),
                    java.util.Arrays.toString(shared.get(1).tokens()), "rows of one prompt sample differently");
        }
    }

    @Test
    void kvCacheAndFullRecomputeSampleTheSameTokensForABatchOfUnequalPrompts() {
        try (Gpt model = Gpt.initialize(new GptConfig(259, 32, 2, 32, 4), 9)) {
            Generator generator = new Generator(model, tokenizer);
            List<int[]> prompts = List.of(tokenizer.encode("Hello"), tokenizer.encode("A much longer prompt"));
            SamplingSettings settings = new SamplingSettings(1.0f, 20, 0.95f, 40, List.of(), 5, true);
            List<Generation> cached = generator.generate(prompts, settings);
            List<Generation> full = generator.generate(prompts, settings.withKvCache(false));
            // identical while the batch fits the context (32 - longest prompt of 20 = 12 tokens); past it both slide
            // their window (the cached path by re-filling from the last half-context), so they may differ there
            for (int i = 0; i < prompts.size(); i++) {
                assertTrue(cached.get(i).tokens().length > 12, "sequence " + i + " went on past the context");
                assertArrayEquals(java.util.Arrays.copyOf(full.get(i).tokens(), 12),
                        java.util.Arrays.copyOf(cached.get(i).tokens(), 12), "sequence " + i);
            }
            // a single sequence fits 32 - 5 = 27 new tokens before any window slides
            List<int[]> one = List.of(tokenizer.encode("Hello"));
            assertArrayEquals(java.util.Arrays.copyOf(generator.generate(one, settings.withKvCache(false)).get(0)
                    .tokens(), 27), java.util.Arrays.copyOf(generator.generate(one, settings).get(0).tokens(), 27));
        }
    }

    @Test
    void sameSeedSameText_otherSeedOtherText() {
        try (Gpt model = Gpt.initialize(new GptConfig(259, 64, 2, 32, 4), 10)) {
            Generator generator = new Generator(model, tokenizer);
            SamplingSettings settings = new SamplingSettings(1.0f, 0, 1f, 30, List.of(), 123, true);
            String a = generator.generateText(List.of("x"), settings).get(0).text();
            String b = generator.generateText(List.of("x"), settings).get(0).text();
            String c = generator.generateText(List.of("x"), settings.withSeed(124)).get(0).text();
            assertEquals(a, b);
            assertNotEquals(a, c);
        }
    }

    @Test
    void stopSequencesEndAndAreCutFromTheText() {
        try (Gpt model = Gpt.initialize(new GptConfig(259, 64, 2, 32, 4), 11)) {
            Generator generator = new Generator(model, tokenizer);
            SamplingSettings free = new SamplingSettings(1.0f, 0, 1f, 30, List.of(), 3, true);
            String text = generator.generateText(List.of("x"), free).get(0).text();
            // an ASCII character the model produces with this seed (ASCII never sits inside a multi-byte character)
            String stop = text.substring(3).chars().filter(ch -> ch >= 0x21 && ch < 0x7f).limit(1)
                    .mapToObj(Character::toString).findFirst().orElseThrow();
            SamplingSettings stopping = new SamplingSettings(1.0f, 0, 1f, 30, List.of(stop), 3, true);
            Generation g = generator.generateText(List.of("x"), stopping).get(0);
            assertEquals(Generation.StopReason.STOP_SEQUENCE, g.stopReason());
            assertTrue(text.startsWith(g.text()) && !g.text().endsWith(stop), g.text());
        }
    }

    @Test
    void greedyIsTopKOne() {
        try (Gpt model = Gpt.initialize(new GptConfig(259, 64, 2, 32, 4), 12)) {
            Generator generator = new Generator(model, tokenizer);
            String greedy = generator.generateText(List.of("ab"), new SamplingSettings(0f, 0, 1f, 20, List.of(), 1,
                    true)).get(0).text();
            String topOne = generator.generateText(List.of("ab"), new SamplingSettings(1f, 1, 1f, 20, List.of(), 99,
                    true)).get(0).text();
            assertEquals(greedy, topOne);
        }
    }
}
