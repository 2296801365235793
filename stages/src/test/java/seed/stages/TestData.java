package seed.stages;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import seed.stages.data.SyntheticInstructions;

/** Small, generated data for tests, so the suite needs nothing from outside the repository. */
public final class TestData {

    private TestData() {
    }

    /** A few KB of English-like text with a learnable structure (sentences about numbers). */
    public static Path corpus(Path dir, int sentences) throws IOException {
        SplittableRandom random = new SplittableRandom(5);
        String[] names = {"Alice", "Bob", "Carol", "Dave", "Erin"};
        String[] verbs = {"counts", "adds", "writes", "reads", "sees"};
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < sentences; i++) {
            int a = random.nextInt(10);
            int b = random.nextInt(10);
            text.append(names[random.nextInt(names.length)]).append(' ').append(verbs[random.nextInt(verbs.length)])
                    .append(' ').append(a).append(" and ").append(b).append(" to get ").append(a + b).append(".\n");
        }
        Path file = dir.resolve("corpus.txt");
        Files.writeString(file, text);
        return file;
    }

    /** The synthetic instruction set as a JSONL file. */
    public static Path instructions(Path dir, int count, double politeFraction, long seed) throws IOException {
        List<SyntheticInstructions.Example> examples = SyntheticInstructions.generate(count, 9, politeFraction, seed);
        StringBuilder jsonl = new StringBuilder();
        for (SyntheticInstructions.Example e : examples) {
            jsonl.append("{\"prompt\": \"").append(e.prompt()).append("\", \"response\": \"").append(e.response())
                    .append("\"}\n");
        }
        Path file = dir.resolve("sft.jsonl");
        Files.writeString(file, jsonl);
        return file;
    }

    /** tinyshakespeare from ../shared/data when this checkout sits beside it, else null. */
    public static Path shakespeare() {
        for (Path candidate : List.of(Path.of("../../shared/data/tinyshakespeare.txt"),
                Path.of("../shared/data/tinyshakespeare.txt"))) {
            if (Files.isRegularFile(candidate)) {
                return candidate.toAbsolutePath().normalize();
            }
        }
        return null;
    }
}
