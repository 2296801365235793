package seed.stages.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.model.Family;
import seed.stages.model.GptConfig;
import seed.stages.plan.ModelShapes;
import seed.stages.plan.ScalingFit;
import seed.stages.plan.ScalingLaw;
import seed.stages.plan.TrainingProbe;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.train.Threads;

/**
 * {@code seed plan}: a model sized for the data or the budget (Chinchilla's law and the ~20 tokens per parameter
 * rule), a shape of each of Seed's families with that many parameters, and the expected training time here from a
 * short measured probe; or ({@code --fit}) the law's constants fitted to Seed's own runs.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = "Compute-optimal model size for a token count, a parameter count or a FLOP budget (Chinchilla), "
                + "a suggested shape and the expected training time; or --fit the law to runs. Prints name=value.")
public final class PlanCommand implements Callable<Integer> {

    /** Exactly one thing to plan from. */
    static final class Given {
        @Option(names = "--tokens", description = "Training tokens available (e.g. 2e9).") Double tokens;
        @Option(names = "--params", description = "Model parameters wanted.") Double params;
        @Option(names = "--flops", description = "Training compute budget in FLOPs (C = 6 N D).") Double flops;
        @Option(names = "--fit", description = "A sweep folder (its trials.csv) or a CSV with a header naming "
                + "params, tokens and loss: fit E, A, B, alpha, beta. Rows with a NaN loss are skipped.")
        Path fit;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Given given;

    @Option(names = "--context", description = "Context length of the suggested shapes (default: ${DEFAULT-VALUE}).")
    int context = 128;

    @Option(names = "--vocab", description = "Vocabulary size (default: bytes, ${DEFAULT-VALUE}).")
    int vocab = new ByteTokenizer().vocabSize();

    @Option(names = "--arch", description = "Family whose shape is probed: gpt2 or llama (default: ${DEFAULT-VALUE}).")
    String arch = "gpt2";

    @Option(names = "--no-probe", description = "Skip the measured training probe (no time estimate).")
    boolean noProbe;

    @Option(names = "--probe-steps", description = "Timed steps of the probe (default: ${DEFAULT-VALUE}).")
    int probeSteps = 5;

    @Option(names = "--batch", description = "Sequences per batch of the probe (default: ${DEFAULT-VALUE}).")
    int batch = 16;

    @Option(names = "--threads", description = "Intra-op threads of the probe (default: ${DEFAULT-VALUE}).")
    int threads = 1;

    @Override
    public Integer call() throws Exception {
        if (given.fit != null) {
            return fit(given.fit);
        }
        ScalingLaw law = ScalingLaw.CHINCHILLA;
        double flops;
        if (given.tokens != null) {
            flops = law.flopsForTokens(positive(given.tokens, "--tokens"));
        } else if (given.params != null) {
            flops = law.flopsForParams(positive(given.params, "--params"));
        } else {
            flops = positive(given.flops, "--flops");
        }
        double params = law.optimalParams(flops);
        double tokens = law.optimalTokens(flops);
        // the ~20x rule from what was given: N = D / 20, D = 20 N, or 6 N (20 N) = C
        double ruleParams = given.tokens != null ? given.tokens / ScalingLaw.TOKENS_PER_PARAM
                : given.params != null ? given.params : Math.sqrt(flops / (6 * ScalingLaw.TOKENS_PER_PARAM));
        line("law", "chinchilla-approach-3 E=1.69 A=406.4 B=410.7 alpha=0.34 beta=0.28");
        line("params", "%.0f", params);
        line("tokens", "%.0f", tokens);
        line("flops", "%.4g", flops);
        line("tokens_per_param", "%.2f", tokens / params);
        line("loss", "%.4f", law.loss(params, tokens));
        line("rule_params", "%.0f", ruleParams);
        line("rule_tokens", "%.0f", ruleParams * ScalingLaw.TOKENS_PER_PARAM);
        line("rule_flops", "%.4g", 6 * ruleParams * ruleParams * ScalingLaw.TOKENS_PER_PARAM);
        if (params < 7e7 || params > 1.6e10) {
            line("note", "the published fit comes from models of 70M-16B parameters; outside that range its loss is an "
                    + "extrapolation: fit your own runs with seed plan --fit");
        }
        ModelShapes.Shape probed = null;
        for (Family family : Family.values()) {
            ModelShapes.Shape s = ModelShapes.suggest(family, params, vocab, context);
            String f = family.name().toLowerCase(Locale.ROOT);
            line(f + "_layers", "%d", s.layers());
            line(f + "_d_model", "%d", s.dModel());
            line(f + "_heads", "%d", s.heads());
            line(f + "_params", "%d", s.params());
            if (family == Family.parse(arch)) {
                probed = s;
            }
        }
        if (!noProbe) {
            Threads.configure(threads);
            GptConfig config = probed.config(vocab, context);
            TrainingProbe.Speed speed = TrainingProbe.measure(config, batch, probeSteps, System.err);
            line("probe_arch", "%s", arch);
            line("probe_params", "%d", speed.probed().parameterCount());
            line("probe_tokens_per_s", "%.0f", speed.probedTokensPerSecond());
            line("tokens_per_s", "%.0f", speed.tokensPerSecond());
            double seconds = tokens / speed.tokensPerSecond();
            line("train_hours", "%.3f", seconds / 3600);
            line("train_steps", "%.0f", Math.ceil(tokens / ((double) batch * context)));
        }
        return 0;
    }

    private int fit(Path csv) throws Exception {
        ScalingFit.Table table = ScalingFit.table(csv);
        ScalingFit.Result r = ScalingFit.fit(table.rows());
        ScalingLaw law = r.law();
        line("rows", "%d", r.rows());
        line("skipped_nan_loss", "%d", table.skipped());
        line("E", "%.4f", law.e());
        line("A", "%.4f", law.a());
        line("B", "%.4f", law.b());
        line("alpha", "%.4f", law.alpha());
        line("beta", "%.4f", law.beta());
        line("params_exponent", "%.4f", law.beta() / (law.alpha() + law.beta()));
        line("tokens_exponent", "%.4f", law.alpha() / (law.alpha() + law.beta()));
        line("huber_loss", "%.6g", r.huber());
        line("rmse_log_loss", "%.6g", r.rmseLog());
        return 0;
    }

    private static double positive(Double value, String flag) {
        if (value == null || !(value > 0) || value.isInfinite()) {
            throw new IllegalArgumentException(flag + " must be a positive number, got " + value);
        }
        return value;
    }

    private static void line(String name, String format, Object... args) {
        System.out.println(name + "=" + String.format(Locale.ROOT, format, args));
    }

    private static void line(String name, String value) {
        System.out.println(name + "=" + value);
    }
}
