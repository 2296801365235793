package seed.reward;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.reward.data.RankingsFile;
import seed.reward.demo.SyntheticPreferences;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.HostTensor;
import seed.stages.metrics.MetricsLog;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code seed dpo} on the tiny SFT and the synthetic K-wise rankings: the held-out implicit-reward accuracy rises
 * above chance (it is exactly 0.5 at the start, when the policy is the reference), the command prints its contract
 * lines and TRL's metrics, and a run stopped half-way and resumed ends with the same weights as one run straight.
 */
class DpoEndToEndTest {

    @TempDir
    static Path shared;
    static Path sft;
    static Path rankings;

    @BeforeAll
    static void setUp() throws Exception {
        sft = TinySft.train(shared.resolve("sft"), 0.3, 200);
        rankings = shared.resolve("rankings.jsonl");
        RankingsFile.write(rankings, SyntheticPreferences.generate(
                new SyntheticPreferences.Settings(400, 4, TinySft.MAX_OPERAND, 0.5, 0.1, 0.1, 0.0, 7)));
    }

    private static String[] args(Path out, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("--policy", sft.toString(), "--rankings", rankings.toString(),
                "--out", out.toString(), "--batch", "8", "--lr", "5e-4", "--truncate-response", "right"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    private static String run(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            picocli.CommandLine cli = new picocli.CommandLine(new seed.reward.cli.DpoCommand());
            cli.setExecutionExceptionHandler(new seed.stages.cli.CliErrors());
            int code = cli.execute(args);
            String text = buffer.toString(StandardCharsets.UTF_8);
            assertEquals(0, code, text);
            return text;
        } finally {
            System.setOut(saved);
        }
    }

    private static Map<String, Double> values(String text) {
        Map<String, Double> out = new HashMap<>();
        Matcher m = Pattern.compile("(\\w+)=(-?[0-9.]+|NaN)").matcher(text);
        while (m.find()) {
            out.put(m.group(1), Double.parseDouble(m.group(2)));
        }
        return out;
    }

    @Test
    void dpoRaisesHeldOutImplicitRewardAccuracyAndResumesExactly(@TempDir Path dir) throws Exception {
        String straight = run(args(dir.resolve("a"), "--steps", "30", "--eval-every", "15", "--checkpoint-every", "15"));
        String[] lines = straight.strip().split("\\R");
        String last = lines[lines.length - 1];
        assertTrue(last.matches("val_rewards_accuracy=\\d\\.\\d{4} kl=-?\\d+\\.\\d{4}"), last);
        Map<String, Double> v = values(straight);
        System.out.println("dpo tiny: " + lines[lines.length - 2] + " | " + last);
        assertTrue(v.get("val_rewards_accuracy") > 0.6, last);
        assertTrue(v.get("kl") < 10, "KL stays bounded: " + last);
        assertTrue(straight.contains("reference_frozen=true"), straight);
        List<Map<String, Object>> metrics = MetricsLog.read(dir.resolve("a/metrics.jsonl"));
        assertEquals(30, metrics.size());
        for (String k : List.of("loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                "logps/chosen", "logps/rejected")) {
            assertTrue(metrics.get(0).containsKey(k), k);
        }
        assertTrue(metrics.get(29).containsKey("val_rewards/accuracies"));
        assertTrue(Files.exists(dir.resolve("a/report/rewards.svg")) && Files.exists(dir.resolve("a/report/accuracy.svg")));


        // exact resume: 3 steps, stop, 3 more = 6 steps straight (a short run: the property does not need a long one)
        String[] shortRun = {"--steps", "6", "--eval-every", "3", "--checkpoint-every", "3"};
        String once = run(args(dir.resolve("b"), shortRun));
        List<String> stopArgs = new java.util.ArrayList<>(List.of(shortRun));
        stopArgs.addAll(List.of("--stop-at", "3"));
        String stopped = run(args(dir.resolve("c"), stopArgs.toArray(String[]::new)));
        assertTrue(stopped.contains("stopped at step 3"), stopped);
        String resumed = run(args(dir.resolve("c"), shortRun));
        assertTrue(resumed.contains("resuming from step-0000003"), resumed);
        try (var pb = Checkpoints.loadModel(dir.resolve("b/policy")); var pc = Checkpoints.loadModel(dir.resolve("c/policy"))) {
            Map<String, HostTensor> b = pb.weights();
            Map<String, HostTensor> c = pc.weights();
            for (String name : b.keySet()) {
                assertArrayEquals(b.get(name).data(), c.get(name).data(), 1e-5f, name);
            }
        }
        assertEquals(values(once).get("val_rewards_accuracy"), values(resumed).get("val_rewards_accuracy"), 1e-9);
        assertEquals(values(once).get("kl"), values(resumed).get("kl"), 1e-3);
    }

    /** The Plackett-Luce loss trains on the K = 4 rankings as a whole and raises the held-out pairwise accuracy too. */
    @Test
    void plackettLuceLearnsFromWholeRankings(@TempDir Path dir) {
        String out = run(args(dir.resolve("pl"), "--loss", "plackett-luce", "--steps", "30", "--eval-every", "30"));
        Map<String, Double> v = values(out);
        System.out.println("dpo tiny plackett-luce: " + out.strip().lines().reduce((a, b) -> b).orElse(""));
        assertTrue(out.contains("loss=plackett-luce"), out);
        assertTrue(v.get("val_rewards_accuracy") > 0.6, out);
        assertTrue(v.get("kl") < 10, "KL stays bounded: " + out);
        assertTrue(out.contains("reference_frozen=true"), out);
    }
}
