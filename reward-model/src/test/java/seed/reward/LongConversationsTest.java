package seed.reward;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import seed.reward.cli.RewardCommand;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.cli.CliErrors;
import seed.stages.cli.SftCommand;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Real-data shape at a tiny size: multi-turn conversations (TRL's conversational formats) whose prompts and responses
 * are longer than the model's context. Without truncation flags SFT and reward training refuse with the file and line;
 * with them they train and report what was cut.
 */
class LongConversationsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static Path base;
    static Path sftData;
    static Path preferences;

    /** A random-initialised base with a 64-token context; byte tokens, so every text is as long as its bytes. */
    @BeforeAll
    static void data() throws Exception {
        base = Files.createDirectories(dir.resolve("base"));
        try (Gpt gpt = Gpt.initialize(new GptConfig(259, 64, 1, 16, 2), 1)) {
            Checkpoints.writeModel(base, gpt, new ByteTokenizer());
        }
        StringBuilder sft = new StringBuilder();
        StringBuilder prefs = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            List<Map<String, String>> history = List.of(
                    Map.of("role", "system", "content", "You are a careful assistant. ".repeat(1 + i % 3)),
                    Map.of("role", "user", "content", "Tell me about topic " + i + ". " + "Please be thorough. ".repeat(2 + i % 4)),
                    Map.of("role", "assistant", "content", "Topic " + i + " is broad."),
                    Map.of("role", "user", "content", "And in more detail?"));
            String good = "Certainly. Topic " + i + " has many sides; " + "here is one more of them. ".repeat(3 + i % 2);
            String bad = "No." + (i % 2 == 0 ? "" : " " + "Nothing to add. ".repeat(5));
            sft.append(JSON.writeValueAsString(Map.of("messages", concat(history, good)))).append('\n');
            prefs.append(JSON.writeValueAsString(Map.of("chosen", concat(history, good), "rejected", concat(history, bad))))
                    .append('\n');
        }
        sftData = Files.writeString(dir.resolve("conversations.jsonl"), sft);
        preferences = Files.writeString(dir.resolve("preferences.jsonl"), prefs);
    }

    private static List<Map<String, String>> concat(List<Map<String, String>> history, String answer) {
        List<Map<String, String>> all = new java.util.ArrayList<>(history);
        all.add(Map.of("role", "assistant", "content", answer));
        return all;
    }

    record Result(int code, String out, String err) {
    }

    static Result run(Object command, String... args) {
        CommandLine cli = new CommandLine(command);
        cli.setExecutionExceptionHandler(new CliErrors());
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err, true));
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            int code = cli.execute(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(saved);
        }
    }

    @Test
    void sftRefusesNamingTheLineAndTrainsWithTruncation() {
        Result refused = run(new SftCommand(), "--base", base.toString(), "--data", sftData.toString(), "--out",
                dir.resolve("sft-refused").toString(), "--steps", "2", "--batch", "2");
        assertNotEquals(0, refused.code());
        assertTrue(refused.err().contains("conversations.jsonl:1") && refused.err().contains("--truncate-prompt left"),
                refused.err());
        assertFalse(Files.exists(dir.resolve("sft-refused").resolve("latest")));

        Result cut = run(new SftCommand(), "--base", base.toString(), "--data", sftData.toString(), "--out",
                dir.resolve("sft").toString(), "--steps", "2", "--batch", "2", "--max-length", "64",
                "--max-prompt-length", "40", "--truncate-prompt", "left", "--truncate-response", "right");
        assertEquals(0, cut.code(), cut.err());
        // every prompt is longer than 40 tokens; every good response longer than the 24 left after the prompt
        assertTrue(cut.out().contains("truncation: 12 example(s): 12 prompt(s) cut at the left, 12 with responses cut "
                + "at the right, 0 dropped"), cut.out());
        assertTrue(cut.out().lines().reduce((a, b) -> b).orElse("").startsWith("val_loss="), cut.out());

        Result nothing = run(new SftCommand(), "--base", base.toString(), "--data", sftData.toString(), "--out",
                dir.resolve("sft-none").toString(), "--steps", "2", "--truncate-prompt", "left", "--truncate-response", "drop");
        assertNotEquals(0, nothing.code());
        assertTrue(nothing.err().contains("nothing usable is left"), nothing.err());
    }

    @Test
    void rewardTrainingRefusesNamingTheLineAndTrainsWithTruncation() {
        Result refused = run(new RewardCommand(), "train", "--base", base.toString(), "--rankings", preferences.toString(),
                "--out", dir.resolve("rm-refused").toString(), "--steps", "2", "--eval-every", "2");
        assertNotEquals(0, refused.code());
        assertTrue(refused.err().contains("preferences.jsonl:1") && refused.err().contains("--truncate-prompt left"),
                refused.err());
        assertFalse(Files.exists(dir.resolve("rm-refused")));

        Result cut = run(new RewardCommand(), "train", "--base", base.toString(), "--rankings", preferences.toString(),
                "--out", dir.resolve("rm").toString(), "--steps", "2", "--eval-every", "2", "--rankings-per-batch", "4",
                "--held-out", "0.25", "--truncate-prompt", "left", "--truncate-response", "right");
        assertEquals(0, cut.code(), cut.err());
        // the implicit prompt (what chosen and rejected share) is cut once for both; long responses lose their end
        assertTrue(cut.out().contains("truncation: 12 example(s): 12 prompt(s) cut at the left, 12 with responses cut "
                + "at the right, 0 dropped (max length 64)"), cut.out());
        assertTrue(cut.out().lines().reduce((a, b) -> b).orElse("").matches("val_accuracy=\\d\\.\\d{4}"), cut.out());
    }
}
