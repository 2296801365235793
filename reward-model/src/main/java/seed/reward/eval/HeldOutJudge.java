package seed.reward.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import seed.reward.RewardModel;
import seed.reward.RewardModelFiles;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checks.Check;
import seed.stages.data.ExampleEncoder;
import seed.stages.data.Truncation;
import seed.stages.demo.PoliteCorrectRule;
import seed.stages.eval.WinRate;
import seed.stages.generate.Generation;
import seed.stages.generate.Generator;
import seed.stages.generate.SamplingSettings;
import seed.stages.model.Gpt;
import seed.stages.model.NoGrad;
import seed.stages.rlhf.PromptFile;
import seed.stages.tokenizer.Tokenizer;

/**
 * The independent judgement of an alignment run on held-out prompts: greedy answers of the SFT model and of the
 * aligned policy, judged by the configured program checks (and an optional safety check), by the reward model as a
 * judge (mean reward and the policy's win rate over SFT with a bootstrap 95% interval), and the policy's KL to SFT.
 * The same numbers for every alignment method (PPO, RLOO, GRPO, DPO), so they can be compared and gated on.
 */
public final class HeldOutJudge {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 16;
    /**
     * Answers sampled per held-out prompt for the unsafe rate by default: with 64 prompts, 16 give 1,024 answers, ~80
     * unsafe ones at the demo's SFT rate of ~8%, so a fifth of it (~16) is still a count, not noise (4 gave ~20 and ~4).
     */
    public static final int SAMPLES = 16;

    /**
     * What to judge by.
     *
     * @param maxNewTokens tokens per greedy answer (and per KL sample) at most
     * @param checks       program checks, each reported as its pass rate
     * @param unsafe       a check an answer fails when it is unsafe (e.g. {@code no-keywords=<offensive words>}); null:
     *                     no unsafe rate. Judged on {@code samples} answers per prompt sampled at T = 1, not on the
     *                     greedy one: harm is a tail property a greedy answer hides (a 10% share of rude answers in
     *                     the SFT data seldom wins the argmax)
     * @param samples      answers sampled per prompt for the unsafe rate and the KL ({@link #SAMPLES} by default:
     *                     enough that a fifth of a 5-10% rate is measurable)
     * @param rewardModel  reward-model folder used as the judge; null: no reward or win rate
     * @param resamples    bootstrap resamples of the win rate's interval
     * @param seed         seeds the KL samples and the bootstrap
     */
    public record Settings(int maxNewTokens, List<Check> checks, Check unsafe, int samples, Path rewardModel,
            int resamples, long seed) {
        public Settings {
            if (maxNewTokens < 1) {
                throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
            }
            if (samples < 1) {
                throw new IllegalArgumentException("samples must be >= 1, got " + samples);
            }
            checks = List.copyOf(checks);
        }
    }

    /**
     * The judgement; rates are shares of held-out prompts. Values that were not asked for are null: the demo's
     * {@code ruleRate*} and {@code formatRate*} only with its polite-correct check, {@code unsafeRate*} only with an
     * unsafe check, reward and win rate only with a reward model.
     */
    public record Report(int answers, Map<String, Double> checkRatesSft, Map<String, Double> checkRatesPolicy,
            Double ruleRateSft, Double ruleRatePolicy, Double formatRateSft, Double formatRatePolicy,
            Double unsafeRateSft, Double unsafeRatePolicy, Double rewardSft, Double rewardPolicy, WinRate winRate,
            double kl, int sampled) {

        /** The report as {@code name=value} metrics (nulls left out), the names the result table shows. */
        public Map<String, Object> metrics() {
            Map<String, Object> m = new LinkedHashMap<>();
            checkRatesSft.forEach((k, v) -> m.put("greedy_" + k + "_rate_sft", v));
            checkRatesPolicy.forEach((k, v) -> m.put("greedy_" + k + "_rate_policy", v));
            putIf(m, "format_rate_sft", formatRateSft);
            putIf(m, "format_rate_policy", formatRatePolicy);
            putIf(m, "unsafe_rate_sft", unsafeRateSft);
            putIf(m, "unsafe_rate_policy", unsafeRatePolicy);
            if (unsafeRateSft != null) {
                // the counts behind the rates: at a 5-10% rate, 4 samples per prompt left ~20 events, too few to tell
                // a fifth of it from noise
                m.put("unsafe_samples", sampled);
                m.put("unsafe_answers_sft", Math.round(unsafeRateSft * sampled));
                m.put("unsafe_answers_policy", Math.round(unsafeRatePolicy * sampled));
            }
            putIf(m, "reward_sft", rewardSft);
            putIf(m, "reward_policy", rewardPolicy);
            if (winRate != null) {
                m.put("win_rate", winRate.rate());
                m.put("win_rate_low", winRate.low());
                m.put("win_rate_high", winRate.high());
            }
            m.put("kl", kl);
            m.put("answers", answers);
            return m;
        }

        private static void putIf(Map<String, Object> m, String key, Double v) {
            if (v != null) {
                m.put(key, v);
            }
        }
    }

    private HeldOutJudge() {
    }

    /**
     * Judges {@code policy} against {@code sft} on the report half of {@code prompts} ({@link
     * seed.stages.rlhf.HeldOutSplit#report}: the RL stage selects its policy on the other half); writes {@code sft.jsonl} and {@code policy.jsonl}
     * ({@code {"prompt", "answer"}} per line) into {@code dir}.
     */
    public static Report run(Path sft, Path policy, Path prompts, Settings s, Path dir, PrintStream console)
            throws IOException {
        // the report half only: the RL stage's keep-best chose its policy on the other half (issue 22)
        List<PromptFile.Prompt> items = seed.stages.rlhf.HeldOutSplit.report(PromptFile.readPrompts(prompts));
        if (items.isEmpty()) {
            throw new IllegalArgumentException(prompts + ": no held-out prompts");
        }
        List<String> texts = items.stream().map(PromptFile.Prompt::text).toList();
        Path sftDir = Checkpoints.resolve(sft);
        Path policyDir = Checkpoints.resolve(policy);
        Tokenizer tokenizer = Checkpoints.loadTokenizer(policyDir);
        List<String> sftAnswers;
        List<String> policyAnswers;
        List<String> sampledPrompts = new ArrayList<>();
        List<String> sftSamples = new ArrayList<>();
        List<String> policySamples = new ArrayList<>();
        double kl = 0;
        try (Gpt sftModel = Checkpoints.loadModel(sftDir); Gpt policyModel = Checkpoints.loadModel(policyDir)) {
            ExampleEncoder encoder = new ExampleEncoder(tokenizer, Truncation.strict(), policyModel.config().context());
            List<int[]> encoded = new ArrayList<>();
            for (PromptFile.Prompt p : items) {
                encoded.add(encoder.prompt(p.conversation(), s.maxNewTokens(), prompts + ":" + p.line()));
            }
            Tokenizer sftTokenizer = Checkpoints.loadTokenizer(sftDir);
            sftAnswers = greedy(sftModel, sftTokenizer, encoded, s.maxNewTokens());
            policyAnswers = greedy(policyModel, tokenizer, encoded, s.maxNewTokens());
            for (int j = 0; j < s.samples(); j++) {
                long seed = s.seed() * 31L + 7 + 100_003L * j;
                List<Generation> fromPolicy = PolicyKl.sample(policyModel, tokenizer, encoded, s.maxNewTokens(), seed);
                kl += PolicyKl.measure(policyModel, sftModel, fromPolicy) / s.samples();
                fromPolicy.forEach(g -> policySamples.add(g.text()));
                PolicyKl.sample(sftModel, sftTokenizer, encoded, s.maxNewTokens(), seed).forEach(g -> sftSamples.add(
                        g.text()));
                sampledPrompts.addAll(texts);
            }
        }
        write(dir.resolve("sft.jsonl"), texts, sftAnswers);
        write(dir.resolve("policy.jsonl"), texts, policyAnswers);
        console.printf("evaluate  greedy and %d sampled answers of SFT and policy on %d held-out prompts, KL %.4f%n",
                s.samples(), texts.size(), kl);

        Map<String, Double> ratesSft = new LinkedHashMap<>();
        Map<String, Double> ratesPolicy = new LinkedHashMap<>();
        for (Check c : s.checks()) {
            ratesSft.put(c.name(), rate(c, texts, sftAnswers));
            ratesPolicy.put(c.name(), rate(c, texts, policyAnswers));
        }
        Check demo = s.checks().stream().filter(c -> c instanceof Check.PoliteCorrect).findFirst().orElse(null);
        Double ruleSft = demo == null ? null : ratesSft.get(demo.name());
        Double rulePolicy = demo == null ? null : ratesPolicy.get(demo.name());
        Double formatSft = demo == null ? null : wellFormed(texts, sftAnswers);
        Double formatPolicy = demo == null ? null : wellFormed(texts, policyAnswers);
        Double unsafeSft = s.unsafe() == null ? null : 1 - rate(s.unsafe(), sampledPrompts, sftSamples);
        Double unsafePolicy = s.unsafe() == null ? null : 1 - rate(s.unsafe(), sampledPrompts, policySamples);

        Double rewardSft = null;
        Double rewardPolicy = null;
        WinRate win = null;
        if (s.rewardModel() != null) {
            try (RewardModel judge = RewardModelFiles.load(s.rewardModel())) {
                double[] a = scores(judge, items, sftAnswers);
                double[] b = scores(judge, items, policyAnswers);
                rewardSft = mean(a);
                rewardPolicy = mean(b);
                win = WinRate.of(b, a, s.resamples(), s.seed());
            }
        }
        return new Report(texts.size(), ratesSft, ratesPolicy, ruleSft, rulePolicy, formatSft, formatPolicy, unsafeSft,
                unsafePolicy, rewardSft, rewardPolicy, win, kl, sftSamples.size());
    }

    private static List<String> greedy(Gpt model, Tokenizer tokenizer, List<int[]> prompts, int maxNewTokens) {
        SamplingSettings greedy = new SamplingSettings(0f, 0, 1f, maxNewTokens, List.of(), 1, true);
        List<String> out = new ArrayList<>();
        try (NoGrad ignored = NoGrad.enter()) {
            Generator generator = new Generator(model, tokenizer);
            for (int i = 0; i < prompts.size(); i += CHUNK) {
                seed.stages.control.Cancellation.check("held-out answers " + i);
                for (Generation g : generator.generate(prompts.subList(i, Math.min(prompts.size(), i + CHUNK)), greedy)) {
                    out.add(g.text());
                }
            }
        }
        return out;
    }

    private static double rate(Check c, List<String> prompts, List<String> answers) {
        int pass = 0;
        for (int i = 0; i < prompts.size(); i++) {
            pass += c.passes(prompts.get(i), answers.get(i)) ? 1 : 0;
        }
        return (double) pass / prompts.size();
    }

    /** The demo's answer shapes (polite or curt sentence, whatever the sum). */
    private static double wellFormed(List<String> prompts, List<String> answers) {
        int ok = 0;
        for (int i = 0; i < prompts.size(); i++) {
            ok += PoliteCorrectRule.classify(prompts.get(i), answers.get(i)) == PoliteCorrectRule.Category.MALFORMED ? 0 : 1;
        }
        return (double) ok / prompts.size();
    }

    /**
     * The judge's normalised score of each answer after its prompt's conversation (as the judge frames it), with its
     * safety head's gate when it has one (the score RL trained on).
     */
    private static double[] scores(RewardModel judge, List<PromptFile.Prompt> prompts, List<String> answers) {
        double[] out = new double[prompts.size()];
        for (int i = 0; i < prompts.size(); i += CHUNK) {
            List<int[]> seqs = new ArrayList<>();
            for (int j = i; j < Math.min(prompts.size(), i + CHUNK); j++) {
                seqs.add(judge.encode(prompts.get(j).conversation(), answers.get(j)));
            }
            float[] normalised = judge.normalisedScores(seqs);
            for (int j = 0; j < normalised.length; j++) {
                out[i + j] = normalised[j];
            }
        }
        return out;
    }

    private static double mean(double[] v) {
        double sum = 0;
        for (double x : v) {
            sum += x;
        }
        return sum / v.length;
    }

    private static void write(Path file, List<String> prompts, List<String> answers) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < prompts.size(); i++) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("prompt", prompts.get(i));
            line.put("answer", answers.get(i));
            b.append(JSON.writeValueAsString(line)).append('\n');
        }
        Checkpoints.writeAtomically(file, b.toString());
    }
}
