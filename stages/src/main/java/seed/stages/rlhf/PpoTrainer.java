package seed.stages.rlhf;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.HostTensor;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.control.Cancellation;
import seed.stages.data.ExampleEncoder;
import seed.stages.data.InstructionDataset;
import seed.stages.data.InstructionFile;
import seed.stages.data.Truncation;
import seed.stages.generate.Generation;
import seed.stages.generate.Generator;
import seed.stages.generate.SamplingSettings;
import seed.stages.metrics.MetricsLog;
import seed.stages.metrics.Progress;
import seed.stages.model.Gpt;
import seed.stages.model.NoGrad;
import seed.stages.rlhf.PpoSettings.Algorithm;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.AdamW;
import seed.stages.train.Batch;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * RL of an SFT policy against a reward, with a KL penalty to a frozen copy of the SFT model (the reference). Three
 * methods share everything but the advantages: PPO (InstructGPT / Ziegler et al.: per-token KL-shaped rewards, a value
 * head, GAE), RLOO and GRPO (critic-free: k samples per prompt, the KL penalty per response in the reward, and the
 * other samples of the prompt as baseline). All three update with the clipped surrogate over minibatches.
 *
 * <p>The loop ({@link #run}) reads rollout -> score -> advantages -> update -> log; checkpoints ({@link RlCheckpoint}),
 * guard rails ({@link GuardRails}) and the held-out measurement ({@link HeldOutEvaluation}) live in collaborators.
 * Log-probabilities and the KL are taken at the rollout temperature. The reference's and the reward's parameters
 * require no gradient, and both only run with recording off. Everything random derives from (seed, iteration), so a
 * resumed run continues exactly.
 */
public final class PpoTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(PpoTrainer.class);
    static final String VALUE_HEAD = ValueHead.FILE;

    private final PpoSettings s;
    private final RewardFunction reward;
    private final PrintStream console;
    private final Tokenizer tokenizer;
    private final Gpt policy;
    private final Gpt reference;
    private final ValueHead valueHead; // PPO only
    private final List<int[]> trainPrompts;
    private final List<String> trainTexts;
    private final InstructionDataset ptx;
    private final HeldOutEvaluation heldOut;     // the report half: before/after, what the run reports
    private final HeldOutEvaluation selection;   // the selection half: what keep-best chooses by
    private final int selectionPrompts;          // its prompts (each sampled SELECTION_SAMPLES times)
    private final GuardRails guards;
    private final VerifiableRewards verifiable;

    /** Time spent in one iteration's phases (seconds). */
    public record Timing(double rollout, double score, double forward, double optimise) {
        public double total() {
            return rollout + score + forward + optimise;
        }
    }

    private PpoTrainer(PpoSettings s, RewardFunction reward, Evaluator evaluator, PrintStream console, Tokenizer tokenizer,
            Gpt policy, List<int[]> trainPrompts, List<String> trainTexts, List<int[]> heldOutPrompts,
            List<String> heldOutTexts, List<int[]> selectionPrompts, List<String> selectionTexts, InstructionDataset ptx) {
        this.s = s;
        this.reward = reward;
        this.console = console;
        this.tokenizer = tokenizer;
        this.policy = policy;
        this.reference = policy.lora() != null ? policy.withoutAdapters() : frozenCopy(policy);
        this.valueHead = s.algorithm().usesCritic() ? new ValueHead(policy.config().dModel(), policy.device()) : null;
        this.trainPrompts = trainPrompts;
        this.trainTexts = trainTexts;
        this.ptx = ptx;
        this.heldOut = new HeldOutEvaluation(this, evaluator, heldOutPrompts, heldOutTexts);
        this.selectionPrompts = selectionPrompts.size();
        this.selection = new HeldOutEvaluation(this, evaluator, repeat(selectionPrompts, SELECTION_SAMPLES),
                repeat(selectionTexts, SELECTION_SAMPLES));
        this.guards = new GuardRails(s.guards(), evaluator);
        this.verifiable = evaluator.rewards();
    }

    /**
     * Answers sampled per selection prompt for keep-best ({@link BestPolicy}): one T = 1 answer each on the ~32
     * selection prompts of the demo put rates of 2/32 against 3/32 and a 5-10% unsafe tail at 1-3 answers, so keep-best
     * chose by noise; four give ~128 answers a measurement (issue 22). The report half keeps one answer per prompt.
     */
    static final int SELECTION_SAMPLES = 4;

    /** Each element {@code times} times in a row (sampling gives each row its own seed, so repeats differ). */
    private static <T> List<T> repeat(List<T> items, int times) {
        List<T> out = new ArrayList<>(items.size() * times);
        for (T item : items) {
            for (int j = 0; j < times; j++) {
                out.add(item);
            }
        }
        return out;
    }

    /** Trains with no task-specific checks (generic guard thresholds). */
    public static PpoResult train(PpoSettings s, RewardFunction reward, PrintStream console) throws IOException {
        return train(s, reward, Evaluator.generic(), console, 0);
    }

    /** As {@link #train(PpoSettings, RewardFunction, Evaluator, PrintStream, int)} without checks. */
    public static PpoResult train(PpoSettings s, RewardFunction reward, PrintStream console, int stopAt) throws IOException {
        return train(s, reward, Evaluator.generic(), console, stopAt);
    }

    /**
     * Validates every input, then trains, resuming from {@code s.out()} when it holds a checkpoint (refused when the
     * settings differ). {@code evaluator} supplies the independent checks and guard thresholds; {@code stopAt} > 0
     * ends the run after that iteration with a checkpoint.
     */
    public static PpoResult train(PpoSettings s, RewardFunction reward, Evaluator evaluator, PrintStream console, int stopAt)
            throws IOException {
        return train(s, reward, evaluator, Truncation.strict(), console, stopAt);
    }

    /** The full form: prompts that do not fit are cut or refused by {@code truncation} (responses are generated). */
    public static PpoResult train(PpoSettings s, RewardFunction reward, Evaluator evaluator, Truncation truncation,
            PrintStream console, int stopAt) throws IOException {
        List<PromptFile.Prompt> all = PromptFile.readPrompts(s.prompts());
        Tokenizer tokenizer = Checkpoints.loadTokenizer(s.policy());
        // one set of weights: an SFT model with adapters is folded first; LoRA RL then adds its own adapters
        Gpt policy = Checkpoints.mergedBase(s.policy());
        if (s.lora() != null) {
            policy.addAdapters(s.lora(), s.seed(), Checkpoints.modelFolder(s.policy()));
        }
        try {
            if (tokenizer.vocabSize() != policy.config().vocabSize()) {
                throw new IllegalArgumentException(s.policy() + ": tokenizer has " + tokenizer.vocabSize()
                        + " ids but the policy's vocabulary is " + policy.config().vocabSize());
            }
            int context = policy.config().context();
            int maxNew = s.rollout().maxNewTokens();
            ExampleEncoder encoder = new ExampleEncoder(tokenizer, truncation, context);
            if (all.size() < (s.heldOutFile() == null ? 2 : 1)) {
                throw new IllegalArgumentException(s.prompts() + ": no usable prompts: " + all.size() + " non-empty "
                        + "prompt(s); need at least 2 (one to train on, one held out)");
            }
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) {
                order.add(i);
            }
            Collections.shuffle(order, new Random(s.seed() * 7_919L + 17));
            List<PromptFile.Prompt> shuffled = order.stream().map(all::get).toList();
            List<PromptFile.Prompt> trainList;
            List<PromptFile.Prompt> heldList;
            if (s.heldOutFile() != null) {
                heldList = PromptFile.readPrompts(s.heldOutFile());
                if (heldList.isEmpty()) {
                    throw new IllegalArgumentException(s.heldOutFile() + ": no held-out prompts (all empty)");
                }
                trainList = shuffled;
            } else {
                int held = Math.min(s.guards().heldOutPrompts(), Math.max(1, all.size() / 4));
                heldList = shuffled.subList(0, held);
                trainList = shuffled.subList(held, shuffled.size());
            }
            List<int[]> trainIds = encode(encoder, trainList, s.prompts(), maxNew);
            int cutTrain = encoder.promptsCut();
            Path heldSource = s.heldOutFile() != null ? s.heldOutFile() : s.prompts();
            // keep-best selects on one half and the run reports on the other (HeldOutSplit), so the reported number is
            // not the maximum of the measurement that picked the policy
            List<PromptFile.Prompt> reportList = HeldOutSplit.report(heldList);
            List<PromptFile.Prompt> selectList = HeldOutSplit.selection(heldList);
            List<int[]> heldIds = encode(encoder, reportList, heldSource, maxNew);
            List<int[]> selectIds = encode(encoder, selectList, heldSource, maxNew);
            if (encoder.promptsCut() > 0) {
                console.printf("rlhf      prompts: %s; %d train and %d held-out prompt(s) cut at the left "
                        + "(--truncate-prompt left)%n", encoder.report(), cutTrain, encoder.promptsCut() - cutTrain);
            }
            int longest = 0;
            for (int[] p : trainIds) {
                longest = Math.max(longest, p.length);
            }
            for (int[] p : heldIds) {
                longest = Math.max(longest, p.length);
            }
            for (int[] p : selectIds) {
                longest = Math.max(longest, p.length);
            }
            reward.checkCompatible(tokenizer, longest + maxNew + 1);
            PpoSettings.Optimisation o = s.optimisation();
            InstructionDataset ptx = o.ptxData() == null || o.ptxCoef() <= 0 ? null
                    : new InstructionDataset(InstructionFile.read(o.ptxData()), tokenizer, context,
                            Math.max(1, s.rollout().sequences() / o.minibatches()), 0.01, s.seed(), true);
            PpoTrainer trainer = new PpoTrainer(s, reward, evaluator, console, tokenizer, policy, trainIds,
                    trainList.stream().map(PromptFile.Prompt::text).toList(), heldIds,
                    reportList.stream().map(PromptFile.Prompt::text).toList(), selectIds,
                    selectList.stream().map(PromptFile.Prompt::text).toList(), ptx);
            try {
                return trainer.run(stopAt);
            } finally {
                trainer.reference.close();
                if (trainer.valueHead != null) {
                    trainer.valueHead.close();
                }
            }
        } finally {
            policy.close();
        }
    }

    private static List<int[]> encode(ExampleEncoder encoder, List<PromptFile.Prompt> prompts, Path file, int maxNew) {
        List<int[]> ids = new ArrayList<>(prompts.size());
        for (PromptFile.Prompt p : prompts) {
            // room for maxNew generated tokens and the end token the reward model scores after a response that hit
            // the limit: prompt + maxNew + 1 must fit a reward model of the policy's context (issue 17)
            ids.add(encoder.prompt(p.conversation(), maxNew + 1, file + ":" + p.line()));
        }
        return ids;
    }

    /** A copy of {@code model} whose parameters require no gradient: no backward pass can ever reach them. */
    static Gpt frozenCopy(Gpt model) {
        Gpt copy = model.copy();
        copy.parameters().values().forEach(p -> p.setRequiresGradient(false));
        return copy;
    }

    /** The parameters the optimizer updates: the policy's, plus the value head's for PPO. */
    private Map<String, NDArray> trainable() {
        Map<String, NDArray> m = new LinkedHashMap<>(policy.parameters());
        if (valueHead != null) {
            m.putAll(valueHead.parameters());
        }
        return m;
    }

    /**
     * One iteration's prompts (one entry per sample), samples, the reward model's raw scores (filled by score), what
     * the verifiable rewards added (filled by score, for the log) and update arrays.
     */
    private record Samples(List<String> prompts, List<Generation> gens, float[] scores, Map<String, Object> rewardTerms,
            RolloutBatch batch) {
    }

    private BestPolicy best;

    private PpoResult run(int stopAt) throws IOException {
        long start = System.nanoTime();
        double referenceSum = checksum(reference);
        Path out = Files.createDirectories(s.out());
        Path metricsFile = out.resolve("metrics.jsonl");
        RlCheckpoint.State state;
        boolean stoppedEarly = false;
        try (AdamW adam = AdamW.withWeightDecay(0f)) {
            state = RlCheckpoint.restoreOrStart(s, verifiable, policy, valueHead, adam, out, console);
            if (state == null) {
                console.printf("rlhf      %s, policy %s; %d train prompts, %d held out (%s); %d iterations of %d "
                                + "prompts x %d samples%n", s.algorithm().cliName(), policy.config().describe(),
                        trainPrompts.size(), heldOut.size() + selectionPrompts, HeldOutSplit.disjoint(
                                heldOut.size() + selectionPrompts) ? heldOut.size() + " report, " + selectionPrompts
                                + " selection" : "one prompt: it both selects and reports", s.iterations(),
                        s.rollout().promptsPerIteration(), s.rollout().samplesPerPrompt());
                if (!verifiable.isEmpty()) {
                    console.printf("rlhf      verifiable rewards (weight x pass, added to the reward model's score): %s%n",
                            String.join(", ", verifiable.describe()));
                }
                HeldOutEvaluation.Stats before = heldOut.measure(reference, false);
                heldOut.print("before (SFT)", before);
                state = RlCheckpoint.State.start(s, before);
            }
            Progress progress = new Progress("rlhf", s.iterations(), "tok", console, s.run().logEveryMs());
            if (heldOut.primary() != null) {
                // the SFT model is the first candidate: a run that never beats it on the selection prompts ends with
                // it (its weights are the policy's now on a fresh start; a resumed run can no longer restore them)
                HeldOutEvaluation.Stats sftSelection = selection.measure(reference, false);
                best = new BestPolicy(heldOut.primary(), sftSelection, state.iteration() == 0 ? policy : null);
            }
            try (MetricsLog metrics = MetricsLog.open(metricsFile, state.iteration())) {
                while (state.iteration() < s.iterations()) {
                    int iteration = state.iteration();
                    Cancellation.check("RL iteration " + iteration);
                    long t0 = System.nanoTime();
                    Samples rollout = rollout(iteration, state.promptPosition());                   // rollout
                    long t1 = System.nanoTime();
                    float[] shaped = score(rollout);                                                // score
                    long t2 = System.nanoTime();
                    double entropy = logProbabilities(rollout.batch());
                    double kl = advantages(rollout.batch(), shaped, state.controller().coef());     // advantages
                    long t3 = System.nanoTime();
                    Update update = update(rollout.batch(), iteration, adam, state.controller().coef()); // update
                    long t4 = System.nanoTime();
                    Timing timing = new Timing((t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t4 - t3) / 1e9);
                    Map<String, Object> rec = heldOut.iterationRecord(iteration + 1, rollout.prompts(), rollout.gens(),
                            rollout.scores(), kl, entropy);
                    rec.putAll(rollout.rewardTerms());
                    rec.putAll(heldOut.advantageRecord(rollout.prompts(), rollout.gens(),
                            rollout.batch().meanAdvantages(), s.rollout().samplesPerPrompt()));
                    state = state.next(kl, rec, s);
                    rec.put("kl_coef", state.controller().coef());
                    update.into(rec, valueHead != null, ptx != null, s.klPlacement() == PpoSettings.KlPlacement.LOSS_K3);
                    putTiming(rec, timing);
                    metrics.log(rec);                                                               // log
                    progress.update(state.iteration(), (Double) rec.get("rollout_tokens"), summary(rec));
                    String event = guards.check(rec, state.firstReward(), state.before().meanLength(), state.iteration());
                    if (event != null) {
                        state = state.withEvent(event);
                        console.println("rlhf      WARNING " + event + (s.guards().stop() ? " -> stopping" : ""));
                        LOG.warn(event);
                    }
                    boolean stop = (event != null && s.guards().stop()) || (stopAt > 0 && state.iteration() >= stopAt);
                    if (best != null && !stop && state.iteration() < s.iterations()
                            && state.iteration() % bestEvery() == 0) {
                        HeldOutEvaluation.Stats now = selection.measure(policy, false);
                        if (best.offer(now, state.iteration(), policy)) {
                            console.printf("rlhf      iteration %d: best %s rate so far on the selection prompts, %.3f%n",
                                    state.iteration(), best.check(), now.checks().get(best.check()));
                        }
                    }
                    if (state.iteration() % s.run().checkpointEvery() == 0 || state.iteration() == s.iterations() || stop) {
                        RlCheckpoint.save(out, s, verifiable, state, policy, valueHead, tokenizer, adam);
                    }
                    if (stop) {
                        stoppedEarly = true;
                        break;
                    }
                }
            }
        }
        HeldOutEvaluation.Stats before = state.before();
        boolean paused = stoppedEarly && stopAt > 0 && state.iteration() >= stopAt && state.iteration() < s.iterations()
                && (state.guardEvents().isEmpty() || !s.guards().stop());
        if (paused) {
            return PpoResult.paused(s, before, state, heldOut.primary(), (System.nanoTime() - start) / 1e9, out, metricsFile,
                    referenceFrozen(referenceSum));
        }
        int keptIteration = state.iteration();
        if (best != null) {
            // the guard rails stop a collapse, but a policy can still drift below an earlier one (or below SFT) on the
            // checks that judge it: keep the best policy by the selection prompts (issue 22), and say so
            HeldOutEvaluation.Stats last = selection.measure(policy, false);
            double finalRate = last.checks().get(best.check());
            List<String> below = best.violations(last);
            String why = below.isEmpty() ? "" : String.format("; the final policy is below SFT on %s",
                    String.join(", ", below));
            if (best.beats(last) && best.restorable()) {
                String kept = best.iteration() == 0
                        ? String.format("kept the SFT policy: no trained policy beat its %s rate %.3f on the %d "
                        + "selection prompts without falling below it on another check (final policy %.3f%s)",
                        best.check(), best.rate(), selectionPrompts, finalRate, why)
                        : String.format("kept the policy of iteration %d (%s rate %.3f on the selection prompts) over "
                        + "the final one (%.3f%s)", best.iteration(), best.check(), best.rate(), finalRate, why);
                best.restoreInto(policy);
                keptIteration = best.iteration();
                console.println("rlhf      " + kept);
                state = state.withEvent(kept);
            } else if (best.beats(last)) {
                String lost = String.format("the SFT policy's %s rate %.3f on the selection prompts beats the final "
                        + "policy's %.3f%s, but a resumed run no longer holds the SFT weights to restore", best.check(),
                        best.rate(), finalRate, why);
                console.println("rlhf      WARNING " + lost);
                LOG.warn(lost);
                state = state.withEvent(lost);
            } else {
                console.printf("rlhf      kept the final policy (iteration %d, %s rate %.3f on the selection prompts)%n",
                        keptIteration, best.check(), finalRate);
            }
        }
        HeldOutEvaluation.Stats after = heldOut.measure(policy, true);
        heldOut.print("after", after);
        String primary = heldOut.primary();
        boolean belowSft = primary != null && after.checks().get(primary) < state.before().checks().get(primary);
        if (belowSft) {
            String worse = String.format("the policy's held-out %s rate %.3f is below the SFT model's %.3f (report "
                    + "prompts)", primary, after.checks().get(primary), state.before().checks().get(primary));
            console.println("rlhf      WARNING " + worse);
            LOG.warn(worse);
            state = state.withEvent(worse);
        }
        console.printf("rlhf      kept_iteration=%d policy_below_sft=%s%n", keptIteration, belowSft);
        Path policyDir = savePolicy(out);
        Path[] charts = heldOut.charts(out, metricsFile);
        return PpoResult.finished(s, before, after, state, heldOut.primary(), (System.nanoTime() - start) / 1e9, out,
                policyDir, metricsFile, charts[0], charts[1], referenceFrozen(referenceSum), stoppedEarly, keptIteration,
                belowSft);
    }

    /** Iterations between held-out measurements for {@link BestPolicy}: about six per run. */
    private int bestEvery() {
        return Math.max(5, s.iterations() / 6);
    }

    private static String summary(Map<String, Object> r) {
        StringBuilder b = new StringBuilder(String.format("reward %.3f | kl %.3f (coef %.3f) | entropy %.3f | length %.1f "
                        + "| clip_frac %.3f", num(r, "reward"), num(r, "kl"), num(r, "kl_coef"), num(r, "entropy"),
                num(r, "response_length"), num(r, "clip_fraction")));
        if (r.containsKey("value_loss")) {
            b.append(String.format(" | value_loss %.4f", num(r, "value_loss")));
        }
        b.append(String.format(" | approx_kl %.4f", num(r, "approx_kl")));
        r.forEach((k, v) -> {
            if (k.endsWith("_rate") && !k.equals("end_rate") && !k.equals("degenerate_rate")) {
                b.append(String.format(" | %s %.2f", k.substring(0, k.length() - 5), ((Number) v).doubleValue()));
            }
            if (k.startsWith("reward_check_") && k.endsWith("_pass")) {
                b.append(String.format(" | reward check %s passed %.2f", k.substring(13, k.length() - 5),
                        ((Number) v).doubleValue()));
            }
        });
        return b.toString();
    }

    static double num(Map<String, Object> r, String key) {
        Object v = r.get(key);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static void putTiming(Map<String, Object> rec, Timing t) {
        rec.put("rollout_s", t.rollout());
        rec.put("score_s", t.score());
        rec.put("forward_s", t.forward());
        rec.put("optimise_s", t.optimise());
        rec.put("iteration_s", t.total());
    }

    /** The prompts of an iteration, from the global prompt position (a per-epoch shuffle of the training prompts). */
    private List<Integer> promptIndices(long position) {
        List<Integer> chosen = new ArrayList<>();
        int n = trainPrompts.size();
        List<Integer> order = null;
        long cachedEpoch = -1;
        for (int j = 0; j < s.rollout().promptsPerIteration(); j++) {
            long global = position + j;
            long epoch = global / n;
            if (epoch != cachedEpoch) {
                order = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    order.add(i);
                }
                Collections.shuffle(order, new Random(s.seed() * 1_000_003L + epoch));
                cachedEpoch = epoch;
            }
            chosen.add(order.get((int) (global % n)));
        }
        return chosen;
    }

    /** Samples k responses for each of this iteration's prompts (rows of one prompt are adjacent). */
    private Samples rollout(int iteration, long position) {
        int k = s.rollout().samplesPerPrompt();
        List<String> texts = new ArrayList<>();
        List<int[]> ids = new ArrayList<>();
        for (int index : promptIndices(position)) {
            for (int j = 0; j < k; j++) {
                texts.add(trainTexts.get(index));
                ids.add(trainPrompts.get(index));
            }
        }
        List<Generation> gens = sample(policy, ids, s.seed() * 1_000_000_007L + (long) iteration * s.rollout().sequences());
        return new Samples(texts, gens, new float[gens.size()], new LinkedHashMap<>(),
                new RolloutBatch(gens, tokenizer.endOfTextId()));
    }

    /**
     * Scores the rollout with the reward plus the verifiable rewards (the reward model's raw scores and each check's
     * share go into the rollout, for logging); returns the combined rewards shaped, the input of every algorithm's
     * advantages.
     */
    private float[] score(Samples rollout) {
        float[] raw = score(rollout.prompts(), rollout.gens());
        System.arraycopy(raw, 0, rollout.scores(), 0, raw.length);
        return shapeScores(combine(verifiable, raw, rollout.prompts(), rollout.gens(), rollout.rewardTerms()),
                rollout.gens());
    }

    /** Model scores plus the weighted checks; fills {@code rec} with the combined mean and each check's share. */
    static float[] combine(VerifiableRewards verifiable, float[] raw, List<String> prompts, List<Generation> gens,
            Map<String, Object> rec) {
        if (verifiable.isEmpty()) {
            return raw;
        }
        boolean[] ended = new boolean[gens.size()];
        for (int i = 0; i < ended.length; i++) {
            ended[i] = gens.get(i).endedWithEndToken();
        }
        VerifiableRewards.Combined c = verifiable.combine(raw, prompts, gens.stream().map(Generation::text).toList(), ended);
        double mean = 0;
        for (float v : c.rewards()) {
            mean += v;
        }
        rec.put("reward_total", mean / Math.max(1, raw.length));
        VerifiableRewards.into(rec, c);
        return c.rewards();
    }

    /** Behaviour and reference log-probabilities (and PPO's old values) at the rollout temperature; returns entropy. */
    private double logProbabilities(RolloutBatch rb) {
        float temperature = s.rollout().temperature();
        try (NoGrad ignored = NoGrad.enter(); NDManager m = NDManager.newBaseManager(policy.device())) {
            RolloutBatch.Forward f = rb.forward(m, policy, null, temperature);
            rb.oldLogp = f.logp().toFloatArray();
            rb.oldValues = valueHead != null ? valueHead.values(f.hidden()).toFloatArray() : new float[rb.oldLogp.length];
            NDArray mask = rb.rows(m, rb.responseMask, null);
            double entropy = PpoLosses.maskedMean(f.logProbs().exp().mul(f.logProbs()).sum(new int[] {-1}).neg(), mask)
                    .getFloat();
            rb.refLogp = rb.forward(m, reference, null, temperature).logp().toFloatArray();
            return entropy;
        }
    }

    /**
     * Advantages (and PPO's returns) into {@code rb}; returns the mean KL per response. PPO: per-token KL-shaped
     * rewards, GAE, whitened. RLOO / GRPO / Dr. GRPO: the group baseline over the scores (minus coef * KL of the
     * response only when the KL goes into the reward), the same advantage at every token of the response.
     */
    private double advantages(RolloutBatch rb, float[] scores, double klCoef) {
        int l1 = rb.length - 1;
        rb.advantages = new float[rb.batch * l1];
        rb.returns = new float[rb.batch * l1];
        double[] kl = rb.klPerResponse();
        if (s.algorithm() == Algorithm.PPO) {
            float[][] adv = new float[rb.batch][];
            float[][] ret = new float[rb.batch][];
            for (int b = 0; b < rb.batch; b++) {
                float[] rewards = Advantages.tokenRewards(scores[b], rb.responsePart(rb.oldLogp, b),
                        rb.responsePart(rb.refLogp, b), klCoef);
                float[][] ar = Advantages.gae(rewards, rb.responsePart(rb.oldValues, b), s.optimisation().gamma(),
                        s.optimisation().lambda());
                adv[b] = ar[0];
                ret[b] = ar[1];
            }
            Advantages.whiten(adv, true);
            for (int b = 0; b < rb.batch; b++) {
                rb.setResponsePart(rb.advantages, b, adv[b]);
                rb.setResponsePart(rb.returns, b, ret[b]);
            }
        } else {
            boolean klInReward = s.klPlacement() == PpoSettings.KlPlacement.REWARD;
            float[] adv = Advantages.criticFree(s.algorithm(), scores, kl, klCoef, klInReward,
                    s.rollout().samplesPerPrompt(), s.rewardScale());
            for (int b = 0; b < rb.batch; b++) {
                float[] perToken = new float[rb.responseLength[b]];
                Arrays.fill(perToken, adv[b]);
                rb.setResponsePart(rb.advantages, b, perToken);
            }
        }
        return Arrays.stream(kl).sum() / rb.batch;
    }

    /** Means over the minibatch steps of one update. */
    private record Update(double policyLoss, double valueLoss, double clipFraction, double approxKl, double ptxLoss,
            double k3) {
        void into(Map<String, Object> rec, boolean critic, boolean withPtx, boolean klInLoss) {
            if (klInLoss) {
                rec.put("kl_k3", k3);
            }
            rec.put("clip_fraction", clipFraction);
            if (critic) {
                rec.put("value_loss", valueLoss);
            }
            rec.put("policy_loss", policyLoss);
            rec.put("approx_kl", approxKl);
            if (withPtx) {
                rec.put("ptx_loss", ptxLoss);
            }
        }
    }

    /**
     * Epochs of the clipped surrogate (+ PPO's clipped value loss, entropy bonus, ptx; + beta * k3 KL per token when
     * the KL goes into the loss) over shuffled minibatches, token losses aggregated as the algorithm was published.
     */
    private Update update(RolloutBatch rb, int iteration, AdamW adam, double klCoef) {
        PpoSettings.Optimisation o = s.optimisation();
        float temperature = s.rollout().temperature();
        Map<String, NDArray> params = trainable();
        boolean klInLoss = s.klPlacement() == PpoSettings.KlPlacement.LOSS_K3;
        PpoLosses.Aggregation aggregation = PpoLosses.Aggregation.of(s.algorithm());
        double pl = 0, vl = 0, cf = 0, ak = 0, px = 0, k3 = 0;
        int steps = 0;
        Random random = new Random(s.seed() * 31L + iteration);
        for (int epoch = 0; epoch < o.epochs(); epoch++) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < rb.batch; i++) {
                order.add(i);
            }
            Collections.shuffle(order, random);
            int size = (rb.batch + o.minibatches() - 1) / o.minibatches();
            for (int start = 0; start < rb.batch; start += size) {
                int[] rows = order.subList(start, Math.min(rb.batch, start + size)).stream().mapToInt(Integer::intValue).toArray();
                boolean finite;
                float vlPart = 0;
                float pxPart = 0;
                float k3Part = 0;
                try (NDManager m = NDManager.newBaseManager(policy.device());
                     GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    RolloutBatch.Forward f = rb.forward(m, policy, rows, temperature);
                    NDArray mask = rb.rows(m, rb.responseMask, rows);
                    NDArray old = rb.rows(m, rb.oldLogp, rows);
                    NDArray perToken = PpoLosses.clippedSurrogate(f.logp(), old, rb.rows(m, rb.advantages, rows), o.clipRange());
                    NDArray policyLoss = PpoLosses.aggregate(perToken, mask, aggregation, s.rollout().maxNewTokens());
                    NDArray loss = policyLoss;
                    if (klInLoss) {
                        NDArray perTokenKl = PpoLosses.k3(f.logp(), rb.rows(m, rb.refLogp, rows), mask);
                        NDArray klLoss = PpoLosses.aggregate(perTokenKl, mask, aggregation, s.rollout().maxNewTokens());
                        loss = loss.add(klLoss.mul((float) klCoef));
                        k3Part = PpoLosses.maskedMean(perTokenKl, mask).getFloat();
                    }
                    if (valueHead != null) {
                        NDArray valueLoss = PpoLosses.valueLoss(valueHead.values(f.hidden()), rb.rows(m, rb.oldValues, rows),
                                rb.rows(m, rb.returns, rows), mask, o.valueClip());
                        loss = loss.add(valueLoss.mul((float) o.valueCoef()));
                        vlPart = valueLoss.getFloat();
                    }
                    if (o.entropyCoef() > 0) {
                        NDArray entropy = PpoLosses.maskedMean(f.logProbs().exp().mul(f.logProbs()).sum(new int[] {-1}).neg(), mask);
                        loss = loss.sub(entropy.mul((float) o.entropyCoef()));
                    }
                    if (ptx != null) {
                        NDArray ptxLoss = lmLoss(m, ptx.trainBatch((long) iteration * o.epochs() * o.minibatches() + steps));
                        pxPart = ptxLoss.getFloat();
                        loss = loss.add(ptxLoss.mul((float) o.ptxCoef()));
                    }
                    finite = Float.isFinite(loss.getFloat());
                    if (finite) {
                        adam.step(loss, params, o.learningRate(), o.clipNorm());
                        steps++;
                        vl += vlPart;
                        px += pxPart;
                        k3 += k3Part;
                        pl += policyLoss.getFloat();
                        try (NoGrad ignored = NoGrad.enter()) {
                            cf += PpoLosses.clipFraction(f.logp(), old, mask, o.clipRange());
                            ak += PpoLosses.approxKl(f.logp(), old, mask);
                        }
                    }
                }
                if (!finite) {
                    // a non-finite loss would put NaN into every weight (seen once in ~60 demo iterations): skip
                    // this minibatch's step, as loss scalers skip overflowing steps, and say so
                    console.printf("rlhf      WARNING iteration %d: non-finite loss in a minibatch, its update skipped%n",
                            iteration + 1);
                }
            }
        }
        return new Update(pl / steps, vl / steps, cf / steps, ak / steps, px / steps, k3 / steps);
    }

    /** PPO-ptx: the masked next-token loss of an SFT/pretraining batch (at temperature 1: it is plain SFT). */
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

    /** Samples one response per prompt (ids already framed) at the rollout temperature; sequence i uses seed + i. */
    List<Generation> sample(Gpt model, List<int[]> prompts, long seed) {
        SamplingSettings settings = new SamplingSettings(s.rollout().temperature(), 0, 1.0f, s.rollout().maxNewTokens(),
                List.of(), seed, true);
        try (NoGrad ignored = NoGrad.enter()) {
            return new Generator(model, tokenizer).generate(prompts, settings);
        }
    }

    /** Reward scores (raw) of the generations, with recording off. */
    float[] score(List<String> prompts, List<Generation> gens) {
        List<RewardFunction.Sample> samples = new ArrayList<>(gens.size());
        for (int i = 0; i < gens.size(); i++) {
            Generation g = gens.get(i);
            int[] tokens = g.tokens();
            int[] response = g.endedWithEndToken() ? Arrays.copyOf(tokens, tokens.length - 1) : tokens;
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
        PpoSettings.Rollout r = s.rollout();
        float[][] one = {scores.clone()};
        for (int i = 0; i < scores.length; i++) {
            if (!gens.get(i).endedWithEndToken()) {
                one[0][i] -= (float) r.missingEndPenalty();
            }
        }
        if (r.whitenScores()) {
            Advantages.whiten(one, true);
        }
        for (int i = 0; i < scores.length; i++) {
            one[0][i] = (float) Math.max(-r.scoreClip(), Math.min(r.scoreClip(), one[0][i]));
        }
        return one[0];
    }

    /** KL(model || reference) summed over the response tokens of each generation, at the rollout temperature. */
    double[] klToReference(Gpt model, List<Generation> gens) {
        RolloutBatch rb = new RolloutBatch(gens, tokenizer.endOfTextId());
        try (NoGrad ignored = NoGrad.enter(); NDManager m = NDManager.newBaseManager(model.device())) {
            rb.oldLogp = rb.forward(m, model, null, s.rollout().temperature()).logp().toFloatArray();
            rb.refLogp = rb.forward(m, reference, null, s.rollout().temperature()).logp().toFloatArray();
        }
        return rb.klPerResponse();
    }

    PpoSettings settings() {
        return s;
    }

    PrintStream console() {
        return console;
    }

    /** The final policy as a plain stages checkpoint folder (plus PPO's value head), written atomically. */
    private Path savePolicy(Path out) throws IOException {
        return Checkpoints.replaceFolder(out.resolve("policy"), folder -> {
            Checkpoints.writeModel(folder, policy, tokenizer);
            if (valueHead != null) {
                SafeTensors.write(folder.resolve(VALUE_HEAD), valueHead.weights(), Map.of("producer", "seed-rlhf"));
            }
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

    /** The reference kept its SFT weights, requires no gradient and never received one. */
    private boolean referenceFrozen(double sumAtStart) {
        boolean same = checksum(reference) == sumAtStart;
        boolean noGradient = reference.parameters().values().stream().noneMatch(NDArray::hasGradient)
                && Gradients.absSum(reference.parameters().values()) == 0;
        if (!same || !noGradient) {
            LOG.error("the frozen reference changed (weights same: {}, no gradient: {})", same, noGradient);
        }
        return same && noGradient;
    }
}
