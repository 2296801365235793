package seed.stages.rlhf;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.HostTensor;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.data.InstructionDataset;
import seed.stages.data.InstructionFile;
import seed.stages.generate.Generation;
import seed.stages.generate.Generator;
import seed.stages.generate.SamplingSettings;
import seed.stages.metrics.MetricsLog;
import seed.stages.metrics.Progress;
import seed.stages.metrics.SvgChart;
import seed.stages.model.Gpt;
import seed.stages.model.NoGrad;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.AdamW;
import seed.stages.train.Batch;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * PPO for RLHF as in InstructGPT / Ziegler et al.: the policy starts from the SFT model, a frozen copy of it is the
 * reference, a value head sits on the policy's final hidden states. Each iteration samples one response per prompt
 * with the KV cache, scores it with the {@link RewardFunction}, shapes per-token rewards with a KL penalty against the
 * reference (coefficient from an adaptive controller), computes GAE advantages, and runs several epochs of clipped
 * surrogate + clipped value loss over minibatches (optionally mixed with a pretraining loss: PPO-ptx).
 *
 * <p>The reference and the reward model only ever run with gradient recording off ({@link NoGrad}), so no gradient
 * can reach them. Everything random derives from (seed, iteration), so a resumed run continues exactly.
 */
public final class PpoTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(PpoTrainer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String VALUE_HEAD = "value_head.safetensors";

    private final PpoSettings s;
    private final RewardFunction reward;
    private final PrintStream console;
    private final Tokenizer tokenizer;
    private final Gpt policy;
    private final Gpt reference;
    private final NDManager headManager = NDManager.newBaseManager();
    private final NDArray valueWeight;
    private final NDArray valueBias;
    private final List<String> trainPrompts;
    private final List<String> heldOut;
    private final InstructionDataset ptx;

    /** Aggregates of one held-out evaluation. */
    public record EvalStats(double meanReward, double ruleRate, double degenerateRate, double meanLength, double endRate,
            double kl, List<String> samples) {
    }

    /** Time spent in one iteration's phases (seconds). */
    public record Timing(double rollout, double score, double forward, double optimise) {
        public double total() {
            return rollout + score + forward + optimise;
        }
    }

    private PpoTrainer(PpoSettings s, RewardFunction reward, PrintStream console, Tokenizer tokenizer, Gpt policy,
            List<String> trainPrompts, List<String> heldOut, InstructionDataset ptx) {
        this.s = s;
        this.reward = reward;
        this.console = console;
        this.tokenizer = tokenizer;
        this.policy = policy;
        this.reference = policy.copy();
        this.trainPrompts = trainPrompts;
        this.heldOut = heldOut;
        this.ptx = ptx;
        int d = policy.config().dModel();
        valueWeight = headManager.zeros(new Shape(1, d));
        valueBias = headManager.zeros(new Shape(1));
        valueWeight.setRequiresGradient(true);
        valueBias.setRequiresGradient(true);
    }

    /** Trains to the end (or until a guard rail stops it). */
    public static PpoResult train(PpoSettings s, RewardFunction reward, PrintStream console) throws IOException {
        return train(s, reward, console, 0);
    }

    /**
     * Validates every input, then trains, resuming from {@code s.out()} when it holds a checkpoint. {@code stopAt} > 0
     * ends the run after that iteration with a checkpoint (used to test exact resume).
     */
    public static PpoResult train(PpoSettings s, RewardFunction reward, PrintStream console, int stopAt) throws IOException {
        List<String> all = PromptFile.read(s.prompts());
        Tokenizer tokenizer = Checkpoints.loadTokenizer(s.policy());
        Gpt policy = Checkpoints.loadModel(s.policy());
        try {
            if (tokenizer.vocabSize() != policy.config().vocabSize()) {
                throw new IllegalArgumentException(s.policy() + ": tokenizer has " + tokenizer.vocabSize()
                        + " ids but the policy's vocabulary is " + policy.config().vocabSize());
            }
            int context = policy.config().context();
            List<String> usable = new ArrayList<>();
            int longest = 0;
            for (String p : all) {
                int len = tokenizer.encode(p).length + 2;
                if (len + s.maxNewTokens() <= context) {
                    usable.add(p);
                    longest = Math.max(longest, len);
                }
            }
            if (usable.size() < (s.heldOutFile() == null ? 2 : 1)) {
                throw new IllegalArgumentException(s.prompts() + ": no usable prompts: " + all.size() + " non-empty prompt(s), "
                        + (all.size() - usable.size()) + " too long for the policy's context of " + context + " tokens with "
                        + s.maxNewTokens() + " new tokens; need at least 2 (one to train on, one held out)");
            }
            List<String> shuffled = new ArrayList<>(usable);
            Collections.shuffle(shuffled, new Random(s.seed() * 7_919L + 17));
            List<String> heldOutPrompts;
            List<String> trainPrompts;
            if (s.heldOutFile() != null) {
                heldOutPrompts = new ArrayList<>();
                for (String p : PromptFile.read(s.heldOutFile())) {
                    int len = tokenizer.encode(p).length + 2;
                    if (len + s.maxNewTokens() <= context) {
                        heldOutPrompts.add(p);
                        longest = Math.max(longest, len);
                    }
                }
                if (heldOutPrompts.isEmpty()) {
                    throw new IllegalArgumentException(s.heldOutFile() + ": no usable held-out prompts (all empty or too long "
                            + "for the context of " + context + " tokens with " + s.maxNewTokens() + " new tokens)");
                }
                trainPrompts = shuffled;
            } else {
                int held = Math.min(s.heldOutPrompts(), Math.max(1, usable.size() / 4));
                heldOutPrompts = shuffled.subList(0, held);
                trainPrompts = shuffled.subList(held, shuffled.size());
            }
            reward.checkCompatible(tokenizer, longest + s.maxNewTokens() + 1);
            InstructionDataset ptx = s.ptxData() == null || s.ptxCoef() <= 0 ? null
                    : new InstructionDataset(InstructionFile.read(s.ptxData()), tokenizer, context,
                            Math.max(1, s.rolloutBatch() / s.minibatches()), 0.01, s.seed(), true);
            PpoTrainer trainer = new PpoTrainer(s, reward, console, tokenizer, policy, List.copyOf(trainPrompts),
                    List.copyOf(heldOutPrompts), ptx);
            try {
                return trainer.run(stopAt, all.size() - usable.size());
            } finally {
                trainer.reference.close();
                trainer.headManager.close();
            }
        } finally {
            policy.close();
        }
    }

    /** The policy's and the value head's trainable parameters, in one map for the optimizer. */
    private Map<String, NDArray> trainable() {
        Map<String, NDArray> m = new LinkedHashMap<>(policy.parameters());
        m.put("value_head.weight", valueWeight);
        m.put("value_head.bias", valueBias);
        return m;
    }

    private PpoResult run(int stopAt, int skippedPrompts) throws IOException {
        long start = System.nanoTime();
        double referenceSum = checksum(reference);
        Path out = Files.createDirectories(s.out());
        KlController controller = s.initialController();
        List<String> guardEvents = new ArrayList<>();
        int iteration = 0;
        EvalStats before;
        try (AdamW adam = AdamW.withWeightDecay(0f)) {
            Path latest = out.resolve(Checkpoints.LATEST);
            if (Files.exists(latest)) {
                Path ckpt = Checkpoints.resolve(out);
                policy.loadWeights(SafeTensors.read(ckpt.resolve(Checkpoints.MODEL)));
                Map<String, HostTensor> vh = SafeTensors.read(ckpt.resolve(VALUE_HEAD));
                valueWeight.set(vh.get("value_head.weight").data());
                valueBias.set(vh.get("value_head.bias").data());
                adam.restore(SafeTensors.read(ckpt.resolve(Checkpoints.OPTIMIZER)));
                JsonNode state = JSON.readTree(ckpt.resolve(Checkpoints.STATE).toFile());
                iteration = state.path("iteration").asInt();
                controller = state.path("adaptive").asBoolean()
                        ? new KlController.Adaptive(state.path("kl_coef").asDouble(), s.targetKl(), s.klHorizon())
                        : new KlController.Fixed(state.path("kl_coef").asDouble());
                before = JSON.treeToValue(state.path("before"), EvalStats.class);
                state.path("guard_events").forEach(e -> guardEvents.add(e.asText()));
                console.printf("rlhf      resumed from %s at iteration %d (kl coef %.4f)%n", ckpt.getFileName(), iteration,
                        controller.coef());
            } else {
                console.printf("rlhf      policy %s; %d train prompts, %d held out%s; %d iterations of %d rollouts%n",
                        policy.config().describe(), trainPrompts.size(), heldOut.size(),
                        skippedPrompts > 0 ? " (" + skippedPrompts + " skipped: too long)" : "", s.iterations(), s.rolloutBatch());
                before = evaluate(reference, false);
                console.printf("rlhf      before (SFT) on held-out: reward %.4f | rule rate %.3f | length %.1f | degenerate %.3f%n",
                        before.meanReward(), before.ruleRate(), before.meanLength(), before.degenerateRate());
                before.samples().forEach(x -> console.println("rlhf        sample: " + x));
            }
            Path metricsFile = out.resolve("metrics.jsonl");
            Progress progress = new Progress("rlhf", s.iterations(), "tok", console, s.logEveryMs());
            boolean stoppedEarly = false;
            double firstReward = Double.NaN;
            try (MetricsLog metrics = MetricsLog.open(metricsFile, iteration)) {
                while (iteration < s.iterations()) {
                    seed.stages.control.Cancellation.check("RLHF iteration " + iteration);
                    IterationStats st = iterate(iteration, controller, adam);
                    controller = controller.update(st.kl, s.rolloutBatch());
                    iteration++;
                    if (Double.isNaN(firstReward)) {
                        firstReward = st.reward;
                    }
                    Map<String, Object> rec = new LinkedHashMap<>();
                    rec.put("step", iteration);
                    rec.put("reward", st.reward);
                    rec.put("kl", st.kl);
                    rec.put("kl_coef", controller.coef());
                    rec.put("entropy", st.entropy);
                    rec.put("response_length", st.length);
                    rec.put("clip_fraction", st.clipFraction);
                    rec.put("value_loss", st.valueLoss);
                    rec.put("policy_loss", st.policyLoss);
                    rec.put("approx_kl", st.approxKl);
                    rec.put("end_rate", st.endRate);
                    rec.put("rule_rate", st.ruleRate);
                    rec.put("degenerate_rate", st.degenerateRate);
                    if (ptx != null) {
                        rec.put("ptx_loss", st.ptxLoss);
                    }
                    rec.put("rollout_tokens", st.tokens);
                    rec.put("rollout_s", st.timing.rollout());
                    rec.put("score_s", st.timing.score());
                    rec.put("forward_s", st.timing.forward());
                    rec.put("optimise_s", st.timing.optimise());
                    rec.put("iteration_s", st.timing.total());
                    metrics.log(rec);
                    progress.update(iteration, st.tokens, String.format(
                            "reward %.3f | kl %.3f (coef %.3f) | entropy %.3f | length %.1f | clip_frac %.3f | value_loss %.4f | approx_kl %.4f | rule %.2f",
                            st.reward, st.kl, controller.coef(), st.entropy, st.length, st.clipFraction, st.valueLoss,
                            st.approxKl, st.ruleRate));
                    String event = guard(st, firstReward, before.meanLength(), iteration);
                    if (event != null) {
                        guardEvents.add(event);
                        console.println("rlhf      WARNING " + event + (s.guardStop() ? " -> stopping" : ""));
                        LOG.warn(event);
                    }
                    boolean stop = (event != null && s.guardStop()) || (stopAt > 0 && iteration >= stopAt);
                    if (iteration % s.checkpointEvery() == 0 || iteration == s.iterations() || stop) {
                        checkpoint(out, iteration, controller, adam, before, guardEvents);
                    }
                    if (stop) {
                        stoppedEarly = true;
                        break;
                    }
                }
            }
            if (stoppedEarly && stopAt > 0 && iteration >= stopAt && iteration < s.iterations()
                    && (guardEvents.isEmpty() || !s.guardStop())) {
                return new PpoResult(Double.NaN, Double.NaN, before.meanReward(), Double.NaN, before.ruleRate(), Double.NaN,
                        Double.NaN, before.meanLength(), Double.NaN, iteration, true, List.copyOf(guardEvents),
                        (System.nanoTime() - start) / 1e9, out, null, metricsFile, null, null, referenceFrozen(referenceSum));
            }
            EvalStats after = evaluate(policy, true);
            console.printf("rlhf      after on held-out: reward %.4f | rule rate %.3f | length %.1f | degenerate %.3f | kl %.3f%n",
                    after.meanReward(), after.ruleRate(), after.meanLength(), after.degenerateRate(), after.kl());
            after.samples().forEach(x -> console.println("rlhf        sample: " + x));
            Path policyDir = savePolicy(out);
            List<Map<String, Object>> records = MetricsLog.read(metricsFile);
            Path report = Files.createDirectories(out.resolve("report"));
            Path rewardChart = report.resolve("reward.svg");
            new SvgChart("RLHF: mean reward of rollouts", "iteration", "reward (normalised)")
                    .addFromMetrics("reward", records, "step", "reward")
                    .addFromMetrics("rule rate (program check)", records, "step", "rule_rate")
                    .write(rewardChart);
            Path klChart = report.resolve("kl.svg");
            new SvgChart("RLHF: KL to the reference per response", "iteration", "nats")
                    .addFromMetrics("kl", records, "step", "kl")
                    .addFromMetrics("kl coef", records, "step", "kl_coef")
                    .write(klChart);
            return new PpoResult(after.meanReward() - before.meanReward(), after.kl(), before.meanReward(), after.meanReward(),
                    before.ruleRate(), after.ruleRate(), after.degenerateRate(), before.meanLength(), after.meanLength(),
                    iteration, stoppedEarly, List.copyOf(guardEvents), (System.nanoTime() - start) / 1e9, out, policyDir,
                    metricsFile, rewardChart, klChart, referenceFrozen(referenceSum));
        }
    }

    /** A guard-rail message, or null: KL over the bound, reward climbing while length collapses/explodes, repeats. */
    private String guard(IterationStats st, double firstReward, double baseLength, int iteration) {
        if (st.kl > s.klBound()) {
            return String.format("iteration %d: KL to the reference %.3f exceeds the bound %.3f", iteration, st.kl, s.klBound());
        }
        // polite answers are legitimately ~3x longer than curt ones, so only extremes count: collapse below 40% of the
        // SFT length, or explosion (most responses run into the token limit without an end token, or > 4x SFT length)
        boolean collapsed = st.length < 0.4 * baseLength;
        boolean exploded = st.endRate < 0.5 || st.length > 4.0 * baseLength;
        if (st.reward > firstReward + 0.5 && baseLength > 0 && (collapsed || exploded)) {
            return String.format("iteration %d: reward climbs (%.3f -> %.3f) while response length went %.1f -> %.1f tokens",
                    iteration, firstReward, st.reward, baseLength, st.length);
        }
        if (st.degenerateRate > 0.5) {
            return String.format("iteration %d: %.0f%% of responses repeat themselves (degenerate text)", iteration,
                    100 * st.degenerateRate);
        }
        return null;
    }

    /** Per-iteration measurements. */
    private record IterationStats(double reward, double kl, double entropy, double length, double clipFraction,
            double valueLoss, double policyLoss, double approxKl, double endRate, double ruleRate, double degenerateRate,
            double ptxLoss, double tokens, Timing timing) {
    }

    /** One rollout batch with the per-position arrays PPO needs (all (B, L-1) in the shifted frame, row-major). */
    private static final class RolloutBatch {
        int batch;
        int length; // L: full sequence length (prompt + response, left-padded)
        long[] tokens; // (B, L)
        float[] attention; // (B, L)
        long[] targets; // (B, L-1): token t+1
        float[] responseMask; // (B, L-1)
        float[] oldLogp, refLogp, oldValues, advantages, returns; // (B, L-1)
        int[] responseLength;
    }

    private List<String> promptsFor(int iteration) {
        List<String> chosen = new ArrayList<>(s.rolloutBatch());
        int n = trainPrompts.size();
        List<Integer> order = null;
        long cachedEpoch = -1;
        for (int j = 0; j < s.rolloutBatch(); j++) {
            long global = (long) iteration * s.rolloutBatch() + j;
            long epoch = global / n;
            if (epoch != cachedEpoch) {
                order = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    order.add(i);
                }
                Collections.shuffle(order, new Random(s.seed() * 1_000_003L + epoch));
                cachedEpoch = epoch;
            }
            chosen.add(trainPrompts.get(order.get((int) (global % n))));
        }
        return chosen;
    }

    private IterationStats iterate(int iteration, KlController controller, AdamW adam) {
        List<String> prompts = promptsFor(iteration);
        long t0 = System.nanoTime();
        List<Generation> gens = sample(policy, prompts, s.seed() * 1_000_000_007L + (long) iteration * s.rolloutBatch());
        long t1 = System.nanoTime();
        float[] scores = score(prompts, gens);
        long t2 = System.nanoTime();
        int b = prompts.size();
        double rawMean = 0;
        int ended = 0, rule = 0, degenerate = 0;
        double length = 0;
        for (int i = 0; i < b; i++) {
            rawMean += scores[i];
            ended += gens.get(i).endedWithEndToken() ? 1 : 0;
            rule += gens.get(i).endedWithEndToken() && PoliteCorrectRule.politeAndCorrect(prompts.get(i), gens.get(i).text()) ? 1 : 0;
            degenerate += TextHealth.degenerate(gens.get(i).text()) ? 1 : 0;
            length += gens.get(i).tokens().length;
        }
        rawMean /= b;
        float[] shaped = shapeScores(scores, gens);
        RolloutBatch rb = collate(gens);
        double entropy;
        try (NoGrad ignored = NoGrad.enter(); NDManager m = NDManager.newBaseManager()) {
            Forward f = forward(m, policy, rb, true);
            rb.oldLogp = f.logp.toFloatArray();
            rb.oldValues = f.values.toFloatArray();
            entropy = f.entropy;
            rb.refLogp = forward(m, reference, rb, false).logp.toFloatArray();
        }
        double kl = advantages(rb, shaped, controller.coef());
        long t3 = System.nanoTime();
        double[] opt = optimise(rb, iteration, adam);
        long t4 = System.nanoTime();
        Timing timing = new Timing((t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t4 - t3) / 1e9);
        return new IterationStats(rawMean, kl, entropy, length / b, opt[2], opt[1], opt[0], opt[3], (double) ended / b,
                (double) rule / b, (double) degenerate / b, opt[4], length, timing);
    }

    private List<Generation> sample(Gpt model, List<String> prompts, long seed) {
        Generator generator = new Generator(model, tokenizer);
        List<int[]> ids = new ArrayList<>(prompts.size());
        for (String p : prompts) {
            ids.add(generator.instructionPrompt(p));
        }
        SamplingSettings settings = new SamplingSettings(s.temperature(), 0, 1.0f, s.maxNewTokens(), List.of(), seed, true);
        try (NoGrad ignored = NoGrad.enter()) {
            return generator.generate(ids, settings);
        }
    }

    private float[] score(List<String> prompts, List<Generation> gens) {
        List<RewardFunction.Sample> samples = new ArrayList<>(gens.size());
        for (int i = 0; i < gens.size(); i++) {
            Generation g = gens.get(i);
            int[] tokens = g.tokens();
            int[] response = g.endedWithEndToken() ? java.util.Arrays.copyOf(tokens, tokens.length - 1) : tokens;
            samples.add(new RewardFunction.Sample(prompts.get(i), g.text(), g.promptTokens(), response, g.endedWithEndToken()));
        }
        try (NoGrad ignored = NoGrad.enter()) {
            float[] scores = reward.score(samples);
            if (scores.length != samples.size()) {
                throw new IllegalStateException("reward function returned " + scores.length + " scores for " + samples.size() + " samples");
            }
            return scores;
        }
    }

    /** Penalty for a missing end token, optional whitening over the batch, then clipping. */
    private float[] shapeScores(float[] scores, List<Generation> gens) {
        float[][] one = {scores.clone()};
        for (int i = 0; i < scores.length; i++) {
            if (!gens.get(i).endedWithEndToken()) {
                one[0][i] -= (float) s.missingEndPenalty();
            }
        }
        if (s.whitenScores()) {
            Advantages.whiten(one, true);
        }
        for (int i = 0; i < scores.length; i++) {
            one[0][i] = (float) Math.max(-s.scoreClip(), Math.min(s.scoreClip(), one[0][i]));
        }
        return one[0];
    }

    private RolloutBatch collate(List<Generation> gens) {
        RolloutBatch rb = new RolloutBatch();
        rb.batch = gens.size();
        int length = 0;
        for (Generation g : gens) {
            length = Math.max(length, g.promptTokens().length + g.tokens().length);
        }
        rb.length = length;
        int l1 = length - 1;
        rb.tokens = new long[rb.batch * length];
        rb.attention = new float[rb.batch * length];
        rb.targets = new long[rb.batch * l1];
        rb.responseMask = new float[rb.batch * l1];
        rb.responseLength = new int[rb.batch];
        for (int b = 0; b < rb.batch; b++) {
            Generation g = gens.get(b);
            int[] p = g.promptTokens();
            int[] r = g.tokens();
            int total = p.length + r.length;
            int pad = length - total;
            for (int t = 0; t < length; t++) {
                int i = t - pad;
                rb.tokens[b * length + t] = i < 0 ? tokenizer.endOfTextId() : i < p.length ? p[i] : r[i - p.length];
                rb.attention[b * length + t] = i < 0 ? 0f : 1f;
            }
            for (int t = 0; t < l1; t++) {
                rb.targets[b * l1 + t] = rb.tokens[b * length + t + 1];
                // position t predicts token t+1; response tokens occupy the last r.length positions
                rb.responseMask[b * l1 + t] = t + 1 >= length - r.length ? 1f : 0f;
            }
            rb.responseLength[b] = r.length;
        }
        return rb;
    }

    /** Log-probabilities of the targets and values, both (B, L-1); entropy only when asked (rollout forward). */
    private record Forward(NDArray logp, NDArray values, double entropy) {
    }

    private Forward forward(NDManager m, Gpt model, RolloutBatch rb, boolean withValues) {
        return forwardRows(m, model, rb, null, withValues, true);
    }

    /** Forward over all rows, or the given rows; the (B, L-1) outputs are in the shifted frame. */
    private Forward forwardRows(NDManager m, Gpt model, RolloutBatch rb, int[] rows, boolean withValues, boolean entropy) {
        int n = rows == null ? rb.batch : rows.length;
        int length = rb.length;
        int l1 = length - 1;
        long[] tokens = new long[n * length];
        float[] att = new float[n * length];
        long[] targets = new long[n * l1];
        float[] mask = new float[n * l1];
        for (int i = 0; i < n; i++) {
            int row = rows == null ? i : rows[i];
            System.arraycopy(rb.tokens, row * length, tokens, i * length, length);
            System.arraycopy(rb.attention, row * length, att, i * length, length);
            System.arraycopy(rb.targets, row * l1, targets, i * l1, l1);
            System.arraycopy(rb.responseMask, row * l1, mask, i * l1, l1);
        }
        NDArray tok = m.create(tokens, new Shape(n, length));
        NDArray hidden = model.hidden(tok, m.create(att, new Shape(n, length)));
        NDArray h = hidden.get(new NDIndex(":, :-1, :"));
        NDArray logits = model.logits(h);
        NDArray logProbs = logits.logSoftmax(-1);
        NDArray logp = logProbs.gather(m.create(targets, new Shape(n, l1, 1)), -1).squeeze(-1);
        NDArray values = withValues ? h.mul(valueWeight).sum(new int[] {-1}).add(valueBias) : null;
        double ent = Double.NaN;
        if (entropy && withValues) {
            NDArray maskArr = m.create(mask, new Shape(n, l1));
            ent = PpoLosses.maskedMean(logProbs.exp().mul(logProbs).sum(new int[] {-1}).neg(), maskArr).getFloat();
        }
        return new Forward(logp, values, ent);
    }

    /** Per-token rewards with the KL penalty, GAE and whitened advantages; returns the mean KL per response. */
    private double advantages(RolloutBatch rb, float[] scores, double klCoef) {
        int l1 = rb.length - 1;
        rb.advantages = new float[rb.batch * l1];
        rb.returns = new float[rb.batch * l1];
        float[][] adv = new float[rb.batch][];
        float[][] ret = new float[rb.batch][];
        double klSum = 0;
        for (int b = 0; b < rb.batch; b++) {
            int n = rb.responseLength[b];
            int first = l1 - n;
            float[] logp = new float[n], ref = new float[n], values = new float[n];
            for (int j = 0; j < n; j++) {
                logp[j] = rb.oldLogp[b * l1 + first + j];
                ref[j] = rb.refLogp[b * l1 + first + j];
                values[j] = rb.oldValues[b * l1 + first + j];
                klSum += logp[j] - ref[j];
            }
            float[] rewards = Advantages.tokenRewards(scores[b], logp, ref, klCoef);
            float[][] ar = Advantages.gae(rewards, values, s.gamma(), s.lambda());
            adv[b] = ar[0];
            ret[b] = ar[1];
        }
        Advantages.whiten(adv, true);
        for (int b = 0; b < rb.batch; b++) {
            int n = rb.responseLength[b];
            int first = l1 - n;
            System.arraycopy(adv[b], 0, rb.advantages, b * l1 + first, n);
            System.arraycopy(ret[b], 0, rb.returns, b * l1 + first, n);
        }
        return klSum / rb.batch;
    }

    /** PPO epochs over shuffled minibatches; returns {policy loss, value loss, clip fraction, approx KL, ptx loss} means. */
    private double[] optimise(RolloutBatch rb, int iteration, AdamW adam) {
        int l1 = rb.length - 1;
        Map<String, NDArray> params = trainable();
        double pl = 0, vl = 0, cf = 0, ak = 0, px = 0;
        int steps = 0;
        Random random = new Random(s.seed() * 31L + iteration);
        for (int epoch = 0; epoch < s.ppoEpochs(); epoch++) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < rb.batch; i++) {
                order.add(i);
            }
            Collections.shuffle(order, random);
            int size = (rb.batch + s.minibatches() - 1) / s.minibatches();
            for (int start = 0; start < rb.batch; start += size) {
                int[] rows = order.subList(start, Math.min(rb.batch, start + size)).stream().mapToInt(Integer::intValue).toArray();
                int n = rows.length;
                float[] oldLogp = new float[n * l1], oldV = new float[n * l1], adv = new float[n * l1], ret = new float[n * l1],
                        mask = new float[n * l1];
                for (int i = 0; i < n; i++) {
                    System.arraycopy(rb.oldLogp, rows[i] * l1, oldLogp, i * l1, l1);
                    System.arraycopy(rb.oldValues, rows[i] * l1, oldV, i * l1, l1);
                    System.arraycopy(rb.advantages, rows[i] * l1, adv, i * l1, l1);
                    System.arraycopy(rb.returns, rows[i] * l1, ret, i * l1, l1);
                    System.arraycopy(rb.responseMask, rows[i] * l1, mask, i * l1, l1);
                }
                Gradients.zero(params.values());
                try (NDManager m = NDManager.newBaseManager();
                     GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    Shape shape = new Shape(n, l1);
                    Forward f = forwardRows(m, policy, rb, rows, true, false);
                    NDArray maskArr = m.create(mask, shape);
                    NDArray old = m.create(oldLogp, shape);
                    NDArray policyLoss = PpoLosses.policyLoss(f.logp, old, m.create(adv, shape), maskArr, s.clipRange());
                    NDArray valueLoss = PpoLosses.valueLoss(f.values, m.create(oldV, shape), m.create(ret, shape), maskArr, s.valueClip());
                    NDArray loss = policyLoss.add(valueLoss.mul((float) s.valueCoef()));
                    if (s.entropyCoef() > 0) {
                        NDArray logits = policy.logits(policy.hidden(m.create(rowsTokens(rb, rows), new Shape(n, rb.length)),
                                m.create(rowsAttention(rb, rows), new Shape(n, rb.length))).get(new NDIndex(":, :-1, :")));
                        loss = loss.sub(PpoLosses.entropy(logits, maskArr).mul((float) s.entropyCoef()));
                    }
                    if (ptx != null) {
                        NDArray ptxLoss = lmLoss(m, ptx.trainBatch((long) iteration * s.ppoEpochs() * s.minibatches() + steps));
                        px += ptxLoss.getFloat();
                        loss = loss.add(ptxLoss.mul((float) s.ptxCoef()));
                    }
                    gc.backward(loss);
                    pl += policyLoss.getFloat();
                    vl += valueLoss.getFloat();
                    try (NoGrad ignored = NoGrad.enter()) {
                        cf += PpoLosses.clipFraction(f.logp, old, maskArr, s.clipRange());
                        ak += PpoLosses.approxKl(f.logp, old, maskArr);
                    }
                }
                adam.step(params, s.learningRate(), s.clipNorm());
                steps++;
            }
        }
        return new double[] {pl / steps, vl / steps, cf / steps, ak / steps, px / steps};
    }

    private static long[] rowsTokens(RolloutBatch rb, int[] rows) {
        long[] out = new long[rows.length * rb.length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rb.tokens, rows[i] * rb.length, out, i * rb.length, rb.length);
        }
        return out;
    }

    private static float[] rowsAttention(RolloutBatch rb, int[] rows) {
        float[] out = new float[rows.length * rb.length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rb.attention, rows[i] * rb.length, out, i * rb.length, rb.length);
        }
        return out;
    }

    /** PPO-ptx: the masked next-token loss of an SFT/pretraining batch. */
    private NDArray lmLoss(NDManager m, Batch batch) {
        Shape shape = new Shape(batch.size(), batch.length());
        NDArray logits = policy.forward(m.create(batch.inputs(), shape));
        NDArray nll = logits.logSoftmax(-1).gather(m.create(batch.targets(), shape).expandDims(-1), -1).squeeze(-1).neg();
        if (batch.lossMask() == null) {
            return nll.mean();
        }
        NDArray mask = m.create(batch.lossMask(), shape);
        return nll.mul(mask).sum().div(mask.sum().maximum(1f));
    }

    /**
     * Held-out evaluation with a fixed sampling seed: mean reward, the program-checked rule rate, degenerate rate,
     * response length, end rate, and (for the trained policy) KL to the reference per response.
     */
    EvalStats evaluate(Gpt model, boolean withKl) {
        List<Generation> gens = new ArrayList<>();
        int chunk = Math.max(s.rolloutBatch(), 1);
        long seed = s.seed() * 104_729L + 99_991L;
        for (int i = 0; i < heldOut.size(); i += chunk) {
            gens.addAll(sample(model, heldOut.subList(i, Math.min(heldOut.size(), i + chunk)), seed + i));
        }
        float[] scores = score(heldOut, gens);
        double r = 0, rule = 0, deg = 0, len = 0, end = 0, kl = 0;
        List<String> samples = new ArrayList<>();
        for (int i = 0; i < gens.size(); i++) {
            Generation g = gens.get(i);
            r += scores[i];
            rule += g.endedWithEndToken() && PoliteCorrectRule.politeAndCorrect(heldOut.get(i), g.text()) ? 1 : 0;
            deg += TextHealth.degenerate(g.text()) ? 1 : 0;
            len += g.tokens().length;
            end += g.endedWithEndToken() ? 1 : 0;
            if (samples.size() < 6) {
                samples.add(heldOut.get(i) + " => " + g.text() + (g.endedWithEndToken() ? "" : " [no end]") + " ["
                        + PoliteCorrectRule.classify(heldOut.get(i), g.text()) + "]");
            }
        }
        if (withKl) {
            for (int i = 0; i < gens.size(); i += chunk) {
                RolloutBatch rb = collate(gens.subList(i, Math.min(gens.size(), i + chunk)));
                try (NoGrad ignored = NoGrad.enter(); NDManager m = NDManager.newBaseManager()) {
                    float[] lp = forwardRows(m, model, rb, null, false, false).logp.toFloatArray();
                    float[] ref = forwardRows(m, reference, rb, null, false, false).logp.toFloatArray();
                    for (int j = 0; j < lp.length; j++) {
                        kl += rb.responseMask[j] * (lp[j] - ref[j]);
                    }
                }
            }
        }
        int n = gens.size();
        return new EvalStats(r / n, rule / n, deg / n, len / n, end / n, kl / n, samples);
    }

    private void checkpoint(Path out, int iteration, KlController controller, AdamW adam, EvalStats before,
            List<String> guardEvents) throws IOException {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("stage", "rlhf");
        state.put("iteration", iteration);
        state.put("kl_coef", controller.coef());
        state.put("adaptive", controller instanceof KlController.Adaptive);
        state.put("seed", s.seed());
        state.put("before", before);
        state.put("guard_events", guardEvents);
        state.put("prompt_position", (long) iteration * s.rolloutBatch());
        Checkpoints.commit(out, Checkpoints.nameFor(iteration), 2, folder -> {
            Checkpoints.writeModel(folder, policy, tokenizer);
            SafeTensors.write(folder.resolve(VALUE_HEAD), valueHead(), Map.of("producer", "seed-rlhf"));
            SafeTensors.write(folder.resolve(Checkpoints.OPTIMIZER), adam.state(), Map.of("producer", "seed-rlhf"));
            Files.writeString(folder.resolve(Checkpoints.STATE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(state));
        });
    }

    private Map<String, HostTensor> valueHead() {
        Map<String, HostTensor> vh = new LinkedHashMap<>();
        vh.put("value_head.weight", new HostTensor(valueWeight.getShape().getShape(), valueWeight.toFloatArray()));
        vh.put("value_head.bias", new HostTensor(valueBias.getShape().getShape(), valueBias.toFloatArray()));
        return vh;
    }

    /** The final policy as a plain stages checkpoint folder (plus its value head), written atomically. */
    private Path savePolicy(Path out) throws IOException {
        return Checkpoints.replaceFolder(out.resolve("policy"), folder -> {
            Checkpoints.writeModel(folder, policy, tokenizer);
            SafeTensors.write(folder.resolve(VALUE_HEAD), valueHead(), Map.of("producer", "seed-rlhf"));
        });
    }

    /** Order-sensitive checksum of a model's weights (any change of any weight changes it, in practice). */
    static double checksum(Gpt model) {
        double sum = 0;
        long i = 0;
        for (HostTensor t : model.weights().values()) {
            for (float v : t.data()) {
                sum += v * (1.0 + (i++ % 7) * 0.1);
            }
        }
        return sum;
    }

    /** The reference kept its SFT weights and never received a gradient. */
    private boolean referenceFrozen(double sumAtStart) {
        boolean same = checksum(reference) == sumAtStart;
        boolean noGradient = Gradients.absSum(reference.parameters().values()) == 0;
        if (!same || !noGradient) {
            LOG.error("the frozen reference changed (weights same: {}, no gradient: {})", same, noGradient);
        }
        return same && noGradient;
    }
}
