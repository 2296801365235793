package seed.stages.rlhf;

import seed.stages.generate.Generation;
import seed.stages.metrics.MetricsLog;
import seed.stages.metrics.SvgChart;
import seed.stages.model.Gpt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Measures the policy on held-out prompts before and after training with a fixed sampling seed (so before and after
 * see the same randomness), and turns each iteration's rollouts into its metrics record: reward, KL, length, end rate,
 * degenerate rate and the rate of every check of the caller's {@link Evaluator}.
 */
final class HeldOutEvaluation {

    /** Aggregates of one held-out measurement; {@code checks} maps each check's name to its pass rate. */
    record Stats(double meanReward, Map<String, Double> checks, double degenerateRate, double meanLength, double endRate,
            double kl, List<String> samples) {
    }

    private final PpoTrainer trainer;
    private final Evaluator evaluator;
    private final List<int[]> prompts;
    private final List<String> texts;

    HeldOutEvaluation(PpoTrainer trainer, Evaluator evaluator, List<int[]> prompts, List<String> texts) {
        this.trainer = trainer;
        this.evaluator = evaluator;
        this.prompts = prompts;
        this.texts = texts;
    }

    int size() {
        return prompts.size();
    }

    /** The first check's name (what {@link PpoResult#ruleRateBefore()} reports), or null. */
    String primary() {
        return evaluator.primaryCheck();
    }

    /** One sample per held-out prompt from {@code model}; with {@code withKl}, also the KL to the reference. */
    Stats measure(Gpt model, boolean withKl) {
        List<Generation> gens = new ArrayList<>();
        int chunk = Math.max(trainer.settings().rollout().sequences(), 1);
        long seed = trainer.settings().seed() * 104_729L + 99_991L;
        for (int i = 0; i < prompts.size(); i += chunk) {
            gens.addAll(trainer.sample(model, prompts.subList(i, Math.min(prompts.size(), i + chunk)), seed + i));
        }
        float[] scores = trainer.score(texts, gens);
        double kl = 0;
        if (withKl) {
            for (int i = 0; i < gens.size(); i += chunk) {
                for (double v : trainer.klToReference(model, gens.subList(i, Math.min(gens.size(), i + chunk)))) {
                    kl += v;
                }
            }
        }
        Map<String, Object> r = record(texts, gens, scores);
        List<String> samples = new ArrayList<>();
        for (int i = 0; i < Math.min(6, gens.size()); i++) {
            Generation g = gens.get(i);
            StringBuilder line = new StringBuilder(texts.get(i) + " => " + g.text() + (g.endedWithEndToken() ? "" : " [no end]"));
            for (Evaluator.Check c : evaluator.checks()) {
                line.append(" [").append(c.name()).append(passes(c, texts.get(i), g) ? " pass]" : " fail]");
            }
            samples.add(line.toString());
        }
        Map<String, Double> checks = new LinkedHashMap<>();
        for (Evaluator.Check c : evaluator.checks()) {
            checks.put(c.name(), PpoTrainer.num(r, c.name() + "_rate"));
        }
        int n = gens.size();
        return new Stats(PpoTrainer.num(r, "reward"), checks, PpoTrainer.num(r, "degenerate_rate"),
                PpoTrainer.num(r, "response_length"), PpoTrainer.num(r, "end_rate"), kl / n, samples);
    }

    void print(String label, Stats st) {
        StringBuilder b = new StringBuilder(String.format("rlhf      %s on held-out: reward %.4f", label, st.meanReward()));
        st.checks().forEach((k, v) -> b.append(String.format(" | %s rate %.3f", k, v)));
        b.append(String.format(" | length %.1f | degenerate %.3f", st.meanLength(), st.degenerateRate()));
        if (st.kl() != 0) {
            b.append(String.format(" | kl %.3f", st.kl()));
        }
        trainer.console().println(b);
        st.samples().forEach(x -> trainer.console().println("rlhf        sample: " + x));
    }

    /** The metrics of one iteration's rollouts. */
    Map<String, Object> iterationRecord(int step, List<String> promptTexts, List<Generation> gens, float[] scores,
            double kl, double entropy) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("step", step);
        Map<String, Object> r = record(promptTexts, gens, scores);
        rec.put("reward", r.get("reward"));
        rec.put("kl", kl);
        rec.put("entropy", entropy);
        r.remove("reward");
        rec.putAll(r);
        return rec;
    }

    /**
     * Where each check's failures stand in the update (issue 22: a method that does not suppress failing answers gives
     * them too small a negative advantage, or sees them too rarely): per check, the mean per-response advantage of the
     * responses that fail it ({@code <name>_fail_advantage}, absent when none failed), their share of the batch's
     * summed |advantage| ({@code <name>_fail_advantage_share}: how much of the update is about them) and, with k > 1 samples per
     * prompt, the share of prompt groups holding at least one failure ({@code <name>_groups_with_fail}).
     * {@code advantages[i]} is response i's mean advantage over its tokens.
     */
    Map<String, Object> advantageRecord(List<String> promptTexts, List<Generation> gens, double[] advantages, int k) {
        Map<String, Object> rec = new LinkedHashMap<>();
        int n = gens.size();
        double mass = 0;
        for (double a : advantages) {
            mass += Math.abs(a);
        }
        for (Evaluator.Check c : evaluator.checks()) {
            double sum = 0;
            double failMass = 0;
            int failed = 0;
            int groups = 0;
            int groupsWithFail = 0;
            for (int g = 0; g < n; g += k) {
                boolean any = false;
                for (int i = g; i < Math.min(n, g + k); i++) {
                    if (!passes(c, promptTexts.get(i), gens.get(i))) {
                        sum += advantages[i];
                        failMass += Math.abs(advantages[i]);
                        failed++;
                        any = true;
                    }
                }
                groups++;
                groupsWithFail += any ? 1 : 0;
            }
            if (failed > 0) {
                rec.put(c.name() + "_fail_advantage", sum / failed);
                rec.put(c.name() + "_fail_advantage_share", mass > 0 ? failMass / mass : 0.0);
            }
            if (k > 1) {
                rec.put(c.name() + "_groups_with_fail", (double) groupsWithFail / Math.max(1, groups));
            }
        }
        return rec;
    }

    private Map<String, Object> record(List<String> promptTexts, List<Generation> gens, float[] scores) {
        int n = gens.size();
        double reward = 0, length = 0, ended = 0, degenerate = 0;
        double[] pass = new double[evaluator.checks().size()];
        for (int i = 0; i < n; i++) {
            Generation g = gens.get(i);
            reward += scores[i];
            length += g.tokens().length;
            ended += g.endedWithEndToken() ? 1 : 0;
            degenerate += TextHealth.degenerate(g.text()) ? 1 : 0;
            for (int c = 0; c < pass.length; c++) {
                pass[c] += passes(evaluator.checks().get(c), promptTexts.get(i), g) ? 1 : 0;
            }
        }
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("reward", reward / n);
        rec.put("response_length", length / n);
        rec.put("end_rate", ended / n);
        for (int c = 0; c < pass.length; c++) {
            rec.put(evaluator.checks().get(c).name() + "_rate", pass[c] / n);
        }
        rec.put("degenerate_rate", degenerate / n);
        rec.put("rollout_tokens", length);
        return rec;
    }

    /** A response passes a check only when it also ended properly (a cut-off answer is not an answer). */
    private static boolean passes(Evaluator.Check check, String prompt, Generation g) {
        return g.endedWithEndToken() && check.passes().test(prompt, g.text());
    }

    /** report/reward.svg (reward and every check's rate) and report/kl.svg. */
    Path[] charts(Path out, Path metricsFile) throws IOException {
        List<Map<String, Object>> records = MetricsLog.read(metricsFile);
        Path report = Files.createDirectories(out.resolve("report"));
        Path rewardChart = report.resolve("reward.svg");
        SvgChart chart = new SvgChart("RL: mean reward of rollouts", "iteration", "reward (normalised)")
                .addFromMetrics("reward", records, "step", "reward");
        for (Evaluator.Check c : evaluator.checks()) {
            chart.addFromMetrics(c.name() + " rate (program check)", records, "step", c.name() + "_rate");
        }
        chart.write(rewardChart);
        Path klChart = report.resolve("kl.svg");
        new SvgChart("RL: KL to the reference per response", "iteration", "nats")
                .addFromMetrics("kl", records, "step", "kl")
                .addFromMetrics("kl coef", records, "step", "kl_coef")
                .write(klChart);
        return new Path[] {rewardChart, klChart};
    }
}
