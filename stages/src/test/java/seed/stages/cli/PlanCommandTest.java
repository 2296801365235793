package seed.stages.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import seed.stages.plan.ScalingLaw;

/**
 * {@code seed plan} as a user runs it (issue 21): {@code --tokens}, {@code --params} and {@code --flops} print
 * {@code params=}, {@code tokens=}, {@code flops=} lines that agree with each other and C = 6 N D, the ~20x rule, a
 * shape per family and (with the probe) the expected training time; {@code --fit} reads a sweep's folder.
 */
class PlanCommandTest {

    @TempDir
    Path dir;

    /** The command's name=value lines. */
    private static Map<String, String> plan(String... args) {
        PrintStream original = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
            code = new CommandLine(new PlanCommand()).execute(args);
        } finally {
            System.setOut(original);
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        Map<String, String> out = new LinkedHashMap<>();
        text.lines().filter(l -> l.contains("=")).forEach(l -> out.put(l.substring(0, l.indexOf('=')),
                l.substring(l.indexOf('=') + 1)));
        return out;
    }

    private static double num(Map<String, String> lines, String name) {
        assertTrue(lines.containsKey(name), name + "= missing from " + lines);
        return Double.parseDouble(lines.get(name));
    }

    @Test
    void tokensParamsAndFlopsGiveTheSameComputeOptimalPlan() {
        Map<String, String> byTokens = plan("--tokens", "1.1e6", "--no-probe");
        double params = num(byTokens, "params");
        double tokens = num(byTokens, "tokens");
        double flops = num(byTokens, "flops");
        assertEquals(1.1e6, tokens, 1.0, "the tokens given are the compute-optimal tokens");
        assertEquals(6 * params * tokens, flops, flops * 1e-3, "C = 6 N D");
        assertEquals(1.1e6 / ScalingLaw.TOKENS_PER_PARAM, num(byTokens, "rule_params"), 1.0, "~20 tokens per parameter");
        for (String family : new String[] {"gpt2", "llama"}) {
            assertTrue(num(byTokens, family + "_layers") >= 1 && num(byTokens, family + "_heads") >= 1, family);
            assertEquals(params, num(byTokens, family + "_params"), params * 0.15, family + "'s suggested shape");
        }
        assertFalse(byTokens.containsKey("train_hours"), "--no-probe: no time estimate");

        Map<String, String> byParams = plan("--params", String.format(Locale.ROOT, "%.0f", params), "--no-probe");
        assertEquals(tokens, num(byParams, "tokens"), tokens * 1e-3);
        Map<String, String> byFlops = plan("--flops", String.format(Locale.ROOT, "%.6e", flops), "--no-probe");
        assertEquals(params, num(byFlops, "params"), params * 1e-3);
        assertEquals(tokens, num(byFlops, "tokens"), tokens * 1e-3);
    }

    @Test
    void theProbeMeasuresTheTrainingTime() {
        Map<String, String> lines = plan("--tokens", "2e6", "--probe-steps", "1", "--batch", "2", "--context", "32");
        double perSecond = num(lines, "tokens_per_s");
        assertTrue(perSecond > 0, lines.toString());
        assertEquals(num(lines, "tokens") / perSecond / 3600, num(lines, "train_hours"), 1e-3 + 0.01 * num(lines,
                "train_hours"));
        assertEquals(Math.ceil(num(lines, "tokens") / (2.0 * 32)), num(lines, "train_steps"), 1.0);
    }

    /** A sweep folder's trials.csv (quoted settings, one of them with a comma; a diverged trial's NaN loss). */
    @Test
    void fitReadsASweepFolder() throws Exception {
        ScalingLaw truth = ScalingLaw.CHINCHILLA;
        StringBuilder csv = new StringBuilder("trial,rung,settings,steps,metric,seconds,computed_steps,params,tokens,"
                + "loss,checkpoint\n");
        int trial = 0;
        for (double n = 1e6; n <= 1e10; n *= 3.3) {
            for (double d = 1e7; d <= 1e12; d *= 4.1) {
                double loss = truth.loss(n, d);
                csv.append(String.format(Locale.ROOT, "%d,0,\"d_model=64 betas=0.9,0.95\",10,%.10f,1.0,10,%.0f,%.0f,"
                        + "%.10f,\"/tmp/t%d\"%n", trial, loss, n, d, loss, trial));
                trial++;
            }
        }
        csv.append("99,0,\"learning_rate=1\",10,NaN,1.0,10,1000000,10000000,NaN,\"/tmp/t99\"\n");
        Path sweep = Files.createDirectories(dir.resolve("sweep"));
        Files.writeString(sweep.resolve("trials.csv"), csv);
        Map<String, String> lines = plan("--fit", sweep.toString());
        assertEquals(trial, (int) num(lines, "rows"));
        assertEquals(1, (int) num(lines, "skipped_nan_loss"), "the diverged trial");
        assertEquals(truth.alpha(), num(lines, "alpha"), 0.005);
        assertEquals(truth.beta(), num(lines, "beta"), 0.005);
        assertEquals(truth.e(), num(lines, "E"), 0.01);
    }
}
