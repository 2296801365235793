package seed.stages.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import seed.stages.TestData;

/**
 * Bad input gets a non-zero exit and a message that names the problem, through the real commands; nothing that looks
 * like a checkpoint is left behind.
 */
class BadInputTest {

    @TempDir
    static Path dir;
    static Path corpus;
    static Path base;

    /** One tiny pretrained base for the SFT cases. */
    @BeforeAll
    static void base() throws Exception {
        corpus = TestData.corpus(dir, 300);
        base = dir.resolve("base");
        Result r = run(new PretrainCommand(), "--corpus", corpus.toString(), "--out", base.toString(), "--steps", "3",
                "--batch", "2", "--context", "32", "--layers", "1", "--d-model", "16", "--heads", "2");
        assertEquals(0, r.code, r.err);
    }

    record Result(int code, String out, String err) {
    }

    static Result run(Object command, String... args) {
        CommandLine cli = new CommandLine(command);
        cli.setExecutionExceptionHandler(new CliErrors());
        StringWriter err = new StringWriter();
        StringWriter out = new StringWriter();
        cli.setErr(new PrintWriter(err, true));
        cli.setOut(new PrintWriter(out, true));
        int code = cli.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    private static void assertFails(Result r, String... expected) {
        assertNotEquals(0, r.code, "should fail: " + r.err);
        for (String e : expected) {
            assertTrue(r.err.contains(e), "message should name '" + e + "': " + r.err);
        }
    }

    @Test
    void missingCorpus() {
        Path out = dir.resolve("missing-out");
        assertFails(run(new PretrainCommand(), "--corpus", dir.resolve("nope.txt").toString(), "--out", out.toString()),
                "nope.txt", "not found");
        assertFalse(Files.exists(out.resolve("latest")));
    }

    @Test
    void emptyCorpus() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.txt"), "");
        assertFails(run(new PretrainCommand(), "--corpus", empty.toString(), "--out", dir.resolve("e").toString()),
                "empty.txt", "empty");
    }

    @Test
    void unknownFlag() {
        assertFails(run(new PretrainCommand(), "--corpus", corpus.toString(), "--out", "x", "--bogus", "1"), "--bogus");
    }

    @Test
    void malformedJsonlLineIsNamedWithItsNumberAndReason() throws Exception {
        Path data = Files.writeString(dir.resolve("bad.jsonl"),
                "{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": \"a\", \"response\": 3}\n");
        assertFails(run(new SftCommand(), "--base", base.toString(), "--data", data.toString(), "--out",
                dir.resolve("s1").toString()), "line 2", "\"response\" must be a string");
        Path broken = Files.writeString(dir.resolve("broken.jsonl"), "{\"prompt\": \"a\", \"response\": \"b\"}\n{oops\n");
        assertFails(run(new SftCommand(), "--base", base.toString(), "--data", broken.toString(), "--out",
                dir.resolve("s2").toString()), "line 2", "not valid JSON");
        Path missing = Files.writeString(dir.resolve("missing.jsonl"), "{\"prompt\": \"a\"}\n");
        assertFails(run(new SftCommand(), "--base", base.toString(), "--data", missing.toString(), "--out",
                dir.resolve("s3").toString()), "line 1", "missing \"response\"");
        assertFalse(Files.exists(dir.resolve("s1").resolve("latest")));
    }

    @Test
    void promptLongerThanTheContextFailsUnlessTruncatedAtTheLeft() throws Exception {
        String longPrompt = "word ".repeat(20); // 100 bytes, context is 32
        Path data = Files.writeString(dir.resolve("long.jsonl"),
                ("{\"prompt\": \"" + longPrompt + "\", \"response\": \"ok\"}\n").repeat(3)
                        + "{\"prompt\": \"hi\", \"response\": \"ok\"}\n".repeat(7));
        assertFails(run(new SftCommand(), "--base", base.toString(), "--data", data.toString(), "--out",
                dir.resolve("t1").toString(), "--steps", "2", "--batch", "2"), "long.jsonl:1", "--truncate-prompt left");
        Result ok = run(new SftCommand(), "--base", base.toString(), "--data", data.toString(), "--out",
                dir.resolve("t2").toString(), "--steps", "2", "--batch", "2", "--truncate-prompt", "left");
        assertEquals(0, ok.code, ok.err);
        assertTrue(Files.exists(dir.resolve("t2").resolve("latest")));
        assertFails(run(new SftCommand(), "--base", base.toString(), "--data", data.toString(), "--out",
                dir.resolve("t3").toString(), "--truncate-prompt", "middle"), "--truncate-prompt");
    }

    @Test
    void resumeFromACheckpointOfAnotherShapeIsRefused() {
        assertFails(run(new PretrainCommand(), "--corpus", corpus.toString(), "--out", dir.resolve("r").toString(),
                "--resume", base.toString(), "--context", "32", "--layers", "2", "--d-model", "16", "--heads", "2"),
                "cannot resume", "1 layers", "2 layers");
    }

    @Test
    void resumeFromSomethingThatIsNoCheckpoint() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("not-a-run"));
        assertFails(run(new PretrainCommand(), "--corpus", corpus.toString(), "--out", dir.resolve("r2").toString(),
                "--resume", empty.toString()), "not-a-run", "holds no checkpoint");
    }

    @Test
    void candidatesRefuseALongPromptNamingTheLineOrCutItAtTheLeft() throws Exception {
        Path prompts = Files.writeString(dir.resolve("cand.jsonl"), "{\"prompt\": \"hi\"}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": \"" + "word ".repeat(10) + "\"}]}\n");
        assertFails(run(new CandidatesCommand(), "--model", base.toString(), "--prompts", prompts.toString(), "--out",
                dir.resolve("c1.jsonl").toString(), "--k", "2", "--max-new-tokens", "4"), "cand.jsonl:2", "--truncate-prompt left");
        assertFalse(Files.exists(dir.resolve("c1.jsonl")));
        Result ok = run(new CandidatesCommand(), "--model", base.toString(), "--prompts", prompts.toString(), "--out",
                dir.resolve("c2.jsonl").toString(), "--k", "2", "--max-new-tokens", "4", "--truncate-prompt", "left");
        assertEquals(0, ok.code, ok.err);
        assertEquals(2, Files.readAllLines(dir.resolve("c2.jsonl")).size());
        assertTrue(Files.readAllLines(dir.resolve("c2.jsonl")).get(1).contains("word word"), "the file keeps the full prompt");
    }
}
