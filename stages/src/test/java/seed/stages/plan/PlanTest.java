package seed.stages.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.model.Family;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;

/** Chinchilla's law, the fit that recovers it, shapes counted by the model's own code, and the data warnings. */
class PlanTest {

    @TempDir
    Path dir;

    @Test
    void computeOptimalAllocationIsTheLawsMinimumAtFixedCompute() {
        ScalingLaw law = ScalingLaw.CHINCHILLA;
        for (double flops : new double[] {1e15, 1e18, 1e21, 5.76e23}) {
            double n = law.optimalParams(flops);
            double d = law.optimalTokens(flops);
            assertEquals(flops, 6 * n * d, flops * 1e-9, "C = 6 N D");
            double best = law.loss(n, d);
            for (double f : new double[] {0.8, 0.95, 1.05, 1.25}) {
                assertTrue(law.loss(n * f, flops / (6 * n * f)) > best, "loss is lowest at N_opt (x" + f + ")");
            }
            assertEquals(d, law.optimalTokens(law.flopsForTokens(d)), d * 1e-9);
            assertEquals(n, law.optimalParams(law.flopsForParams(n)), n * 1e-9);
        }
        // the exponents: N_opt grows as C^(beta / (alpha + beta)) = C^0.4516
        double ratio = law.optimalParams(1e22) / law.optimalParams(1e20);
        assertEquals(Math.pow(100, 0.28 / 0.62), ratio, 1e-9);
    }

    @Test
    void fitRecoversKnownConstantsFromSyntheticRuns() throws IOException {
        ScalingLaw truth = ScalingLaw.CHINCHILLA;
        StringBuilder csv = new StringBuilder("params,tokens,loss,lr\n");
        for (double n = 1e6; n <= 1e10; n *= 3.3) {
            for (double d = 1e7; d <= 1e12; d *= 4.1) {
                csv.append(String.format("%.0f,%.0f,%.10f,0.001%n", n, d, truth.loss(n, d)));
            }
        }
        Path file = Files.writeString(dir.resolve("runs.csv"), csv);
        ScalingFit.Result r = ScalingFit.fit(ScalingFit.read(file));
        ScalingLaw fit = r.law();
        System.out.printf("fit (exact points): E=%.4f A=%.2f B=%.2f alpha=%.4f beta=%.4f rmse_log=%.2e%n", fit.e(),
                fit.a(), fit.b(), fit.alpha(), fit.beta(), r.rmseLog());
        assertEquals(truth.e(), fit.e(), 0.01);
        assertEquals(truth.alpha(), fit.alpha(), 0.005);
        assertEquals(truth.beta(), fit.beta(), 0.005);
        assertEquals(truth.a(), fit.a(), truth.a() * 0.05);
        assertEquals(truth.b(), fit.b(), truth.b() * 0.05);
        assertTrue(r.rmseLog() < 1e-4, "rmse " + r.rmseLog());

        // with 0.5% multiplicative noise, as real runs have: exponents within a few hundredths
        SplittableRandom random = new SplittableRandom(3);
        List<ScalingFit.Row> noisy = new ArrayList<>();
        for (ScalingFit.Row row : ScalingFit.read(file)) {
            noisy.add(new ScalingFit.Row(row.params(), row.tokens(), row.loss() * (1 + 0.005 * random.nextGaussian())));
        }
        ScalingLaw rough = ScalingFit.fit(noisy).law();
        System.out.printf("fit (0.5%% noise): E=%.4f A=%.2f B=%.2f alpha=%.4f beta=%.4f%n", rough.e(), rough.a(),
                rough.b(), rough.alpha(), rough.beta());
        assertEquals(truth.alpha(), rough.alpha(), 0.03);
        assertEquals(truth.beta(), rough.beta(), 0.03);
        assertEquals(truth.e(), rough.e(), 0.05);
    }

    @Test
    void badFitInputIsRefusedByName() throws IOException {
        Path noLoss = Files.writeString(dir.resolve("a.csv"), "params,tokens\n1,2\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ScalingFit.read(noLoss)).getMessage()
                .contains("params, tokens and loss"));
        Path text = Files.writeString(dir.resolve("b.csv"), "params,tokens,loss\n1e6,abc,3.2\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ScalingFit.read(text)).getMessage()
                .contains("b.csv:2"));
        List<ScalingFit.Row> few = List.of(new ScalingFit.Row(1e6, 1e7, 3));
        assertThrows(IllegalArgumentException.class, () -> ScalingFit.fit(few));
    }

    @Test
    void suggestedShapesHaveTheTargetSizeCountedByTheModel() {
        for (Family family : Family.values()) {
            for (double target : new double[] {3e5, 1e6, 2e7, 1.2e8, 1e9}) {
                ModelShapes.Shape s = ModelShapes.suggest(family, target, 259, 128);
                assertEquals(target, s.params(), target * 0.12, family + " " + target + " -> " + s);
                double aspect = (double) s.dModel() / s.layers();
                assertTrue(aspect >= 8 && aspect <= 256, "a sensible width per layer: " + s);
            }
        }
        ModelShapes.Shape small = ModelShapes.suggest(Family.LLAMA, 5e5, 259, 64);
        GptConfig config = small.config(259, 64);
        try (Gpt model = Gpt.initialize(config, 0)) {
            long counted = model.weights().values().stream().mapToLong(t -> t.data().length).sum();
            assertEquals(counted, small.params(), "the parameters the model really has");
        }
    }

    @Test
    void probeMeasuresRealTrainingSteps() throws IOException {
        GptConfig tiny = ModelShapes.suggest(Family.GPT2, 2e5, 259, 32).config(259, 32);
        TrainingProbe.Speed speed = TrainingProbe.measure(tiny, 4, 2, System.out);
        assertTrue(speed.tokensPerSecond() > 0 && Double.isFinite(speed.tokensPerSecond()));
        assertEquals(speed.probedTokensPerSecond(), speed.tokensPerSecond(), 1e-6, "probed at the planned shape");
    }

    @Test
    void pretrainingWarnsWhenNotSizedForItsData() {
        // the README's example: ~0.7 tokens per parameter
        List<String> w = DataBudget.warnings(880_000, 616_000, 1_000_000);
        assertEquals(1, w.size(), w.toString());
        assertTrue(w.get(0).contains("0.70 tokens per parameter"), w.get(0));
        assertEquals(List.of(), DataBudget.warnings(1_000_000, 20_000_000, 10_000_000));
        List<String> epochs = DataBudget.warnings(100_000, 20_000_000, 1_000_000);
        assertEquals(1, epochs.size());
        assertTrue(epochs.get(0).contains("20.0 times"), epochs.get(0));
    }
}
