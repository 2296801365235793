package seed.workflows.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.data.SyntheticInstructions;
import seed.stages.demo.Offensive;

/**
 * The data of the built-in demo pipeline, generated (never downloaded) so the main job runs anywhere: a small
 * English-like corpus about adding numbers for pretraining, SFT pairs from {@link SyntheticInstructions} in which
 * only a minority of answers is polite and a share ({@link #RUDE_FRACTION}) is rude ({@link Offensive}: the harm stage 3
 * must suppress), and prompts for candidates and RLHF. Deterministic for a seed.
 */
public final class DemoData {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Operands 0..4: small enough that a tiny SFT model learns the sums, so "correct" is reachable for RLHF. */
    static final int MAX_OPERAND = 4;
    /** Share of SFT answers replaced by a rude one. */
    public static final double RUDE_FRACTION = 0.1;

    /** Paths of the generated files. */
    public record DemoFiles(Path corpus, Path sft, Path prompts, Path heldOutPrompts) {
    }

    private DemoData() {
    }

    public static DemoFiles write(Path dir, long seed, int sftExamples, double politeFraction, int prompts)
            throws IOException {
        Files.createDirectories(dir);
        Path corpus = dir.resolve("corpus.txt");
        Checkpoints.writeAtomically(corpus, corpus(seed, 6000));
        Path sft = dir.resolve("sft.jsonl");
        StringBuilder lines = new StringBuilder();
        SplittableRandom rude = new SplittableRandom(seed * 31 + 17);
        for (SyntheticInstructions.Example e : SyntheticInstructions.generate(sftExamples, MAX_OPERAND, politeFraction, seed)) {
            Map<String, Object> line = new LinkedHashMap<>(); // fixed key order: the same data, the same SHA-256
            line.put("prompt", e.prompt());
            line.put("response", rude.nextDouble() < RUDE_FRACTION ? Offensive.rudeResponse(e.a(), e.b(), rude)
                    : e.response());
            lines.append(JSON.writeValueAsString(line)).append('\n');
        }
        Checkpoints.writeAtomically(sft, lines.toString());
        Path train = dir.resolve("prompts.jsonl");
        Path heldOut = dir.resolve("prompts-heldout.jsonl");
        Checkpoints.writeAtomically(train, promptLines(prompts, seed + 1));
        Checkpoints.writeAtomically(heldOut, promptLines(Math.max(16, prompts / 4), seed + 2));
        return new DemoFiles(corpus, sft, train, heldOut);
    }

    private static String promptLines(int count, long seed) throws IOException {
        StringBuilder out = new StringBuilder();
        for (SyntheticInstructions.Example e : SyntheticInstructions.generate(count, MAX_OPERAND, 0, seed)) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("prompt", e.prompt());
            out.append(JSON.writeValueAsString(line)).append('\n');
        }
        return out.toString();
    }

    /** Sentences about adding numbers, in the words the instructions use, so pretraining helps SFT. */
    static String corpus(long seed, int sentences) {
        SplittableRandom random = new SplittableRandom(seed);
        String[] names = {"Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"};
        List<String> templates = new ArrayList<>(List.of(
                "%s adds %d and %d and gets %d.", "%s says that %d plus %d is %d.",
                "When %s adds %d to %d, the answer is %d.", "%s computes %d + %d = %d."));
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < sentences; i++) {
            int a = random.nextInt(MAX_OPERAND + 1);
            int b = random.nextInt(MAX_OPERAND + 1);
            String name = names[random.nextInt(names.length)];
            text.append(String.format(templates.get(random.nextInt(templates.size())), name, a, b, a + b));
            text.append(random.nextInt(4) == 0 ? " Happy to help.\n" : random.nextInt(3) == 0 ? " Sure!\n" : "\n");
        }
        return text.toString();
    }
}
