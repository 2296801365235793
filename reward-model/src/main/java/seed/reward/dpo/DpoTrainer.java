package seed.reward.dpo;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import seed.reward.data.PreferenceData;
import seed.reward.data.PreferencePair;
import seed.reward.data.PromptGroup;
import seed.reward.data.Ranking;
import seed.reward.data.RankingsFile;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.control.Cancellation;
import seed.stages.data.ExampleEncoder;
import seed.stages.generate.Generation;
import seed.stages.generate.Generator;
import seed.stages.generate.SamplingSettings;
import seed.stages.metrics.MetricsLog;
import seed.stages.metrics.Progress;
import seed.stages.metrics.SvgChart;
import seed.stages.model.Gpt;
import seed.stages.model.NoGrad;
import seed.stages.rlhf.ResumeCheck;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.AdamW;
import seed.stages.train.LearningRateSchedule;

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
 * Direct preference optimisation from a rankings snapshot (Rafailov et al. 2023, with TRL's loss variants): no
 * reward model, no rollouts. Every ranking becomes its C(K,2) ordered pairs (ties none), or with {@code plackett-luce}
 * one likelihood of the whole ranking ({@link PlackettLuce}); all rankings of a prompt form
 * one group whose distinct responses are computed once per step, the prompt once per group ({@link ResponseLogps}).
 * The reference's log-probabilities are computed once per response before training (a frozen copy of the SFT
 * model, or with LoRA the same base with the adapters off). Held-out prompts are split as the reward model splits
 * them. Checkpoints hold the policy (or its adapters), AdamW's moments and the step; batches are a function of
 * (seed, epoch), so a resumed run continues exactly.
 */
public final class DpoTrainer {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Groups per no-gradient forward when computing reference and held-out log-probabilities. */
    private static final int CHUNK = 16;

    private final DpoSettings s;
    private final PrintStream console;

    private DpoTrainer(DpoSettings s, PrintStream console) {
        this.s = s;
        this.console = console;
    }

    /**
     * A prompt group encoded once: its sequences and pairs, the reference's log-probability of each response, and its
     * rankings' Plackett-Luce factors ({@code rankings} of them add at least one factor).
     */
    record Example(PromptGroup group, List<ExampleEncoder.Encoded> sequences, float[] refLogps,
            List<PlackettLuce.Term> terms, int rankings) {
    }

    /** The implicit-reward statistics of a set of pairs (TRL's names in {@link #into}). */
    record Stats(double loss, double chosen, double rejected, double accuracy, double margin, double logpChosen,
            double logpRejected, int pairs) {

        void into(Map<String, Object> rec, String prefix) {
            rec.put(prefix + "loss", loss);
            rec.put(prefix + "rewards/chosen", chosen);
            rec.put(prefix + "rewards/rejected", rejected);
            rec.put(prefix + "rewards/accuracies", accuracy);
            rec.put(prefix + "rewards/margins", margin);
            rec.put(prefix + "logps/chosen", logpChosen);
            rec.put(prefix + "logps/rejected", logpRejected);
        }
    }

    /** Trains from scratch or resumes from {@code s.out()}; {@code stopAt} > 0 stops after that step (resumable). */
    public static DpoResult train(DpoSettings s, PrintStream console, int stopAt) throws IOException {
        return new DpoTrainer(s, console).run(stopAt);
    }

    private DpoResult run(int stopAt) throws IOException {
        long start = System.nanoTime();
        List<Ranking> rankings = RankingsFile.read(s.rankings());
        PreferenceData split = PreferenceData.split(rankings, s.heldOutFraction(), s.seed());
        if (split.train().isEmpty() || split.heldOut().isEmpty()) {
            throw new IllegalArgumentException(s.rankings() + ": need preference pairs on at least 2 distinct prompts "
                    + "(one to train on, one held out); got " + split.train().size() + " train and "
                    + split.heldOut().size() + " held-out prompt group(s)");
        }
        Tokenizer tokenizer = Checkpoints.loadTokenizer(s.policy());
        Gpt policy = Checkpoints.mergedBase(s.policy());
        Gpt reference = null;
        try {
            if (tokenizer.vocabSize() != policy.config().vocabSize()) {
                throw new IllegalArgumentException(s.policy() + ": tokenizer has " + tokenizer.vocabSize()
                        + " ids but the model's vocabulary is " + policy.config().vocabSize());
            }
            if (s.lora() != null) {
                policy.addAdapters(s.lora(), s.seed(), Checkpoints.modelFolder(s.policy()));
                reference = policy.withoutAdapters();
            } else {
                reference = policy.copy();
                reference.parameters().values().forEach(p -> p.setRequiresGradient(false));
            }
            ExampleEncoder encoder = new ExampleEncoder(tokenizer, s.truncation(), policy.config().context());
            Map<String, List<Ranking>> byPrompt = new LinkedHashMap<>();
            rankings.forEach(r -> byPrompt.computeIfAbsent(r.prompt(), p -> new ArrayList<>()).add(r));
            List<Example> train = encode(split.train(), byPrompt, encoder, reference);
            int cutTrain = encoder.promptsCut() + encoder.responsesCut() + encoder.dropped();
            List<Example> heldOut = encode(split.heldOut(), byPrompt, encoder, reference);
            encoder.requireSome(train.size(), s.rankings() + " (training prompts)");
            encoder.requireSome(heldOut.size(), s.rankings() + " (held-out prompts)");
            if (encoder.promptsCut() + encoder.responsesCut() + encoder.dropped() > 0) {
                console.println("dpo       truncation: " + encoder.report() + " (" + cutTrain + " in training groups)");
            }
            return loop(policy, reference, tokenizer, encoder, train, heldOut, rankings.size(), start, stopAt);
        } finally {
            if (reference != null) {
                reference.close();
            }
            policy.close();
        }
    }

    /** Encodes the groups (cut or refused by the truncation rule) and computes the reference's log-probabilities once. */
    private List<Example> encode(List<PromptGroup> groups, Map<String, List<Ranking>> byPrompt, ExampleEncoder encoder,
            Gpt reference) {
        List<PromptGroup> kept = new ArrayList<>();
        List<List<ExampleEncoder.Encoded>> seqs = new ArrayList<>();
        for (PromptGroup g : groups) {
            List<ExampleEncoder.Encoded> e = encoder.group(g.prompt(), g.responses(), s.rankings() + ":" + g.line());
            if (e != null) {
                kept.add(g);
                seqs.add(e);
            }
        }
        float[] ref = ResponseLogps.values(reference, seqs, s.loss().lengthNormalised(), CHUNK);
        List<Example> out = new ArrayList<>();
        for (int i = 0, at = 0; i < kept.size(); i++) {
            int k = seqs.get(i).size();
            float[] r = new float[k];
            System.arraycopy(ref, at, r, 0, k);
            at += k;
            PromptGroup g = kept.get(i);
            List<PlackettLuce.Term> terms = new ArrayList<>();
            int ranked = 0;
            for (Ranking ranking : byPrompt.getOrDefault(g.prompt(), List.of())) {
                List<PlackettLuce.Term> t = PlackettLuce.terms(PlackettLuce.tiers(ranking, g.responses()));
                terms.addAll(t);
                ranked += t.isEmpty() ? 0 : 1;
            }
            out.add(new Example(g, seqs.get(i), r, terms, ranked));
        }
        return out;
    }

    private DpoResult loop(Gpt policy, Gpt reference, Tokenizer tokenizer, ExampleEncoder encoder, List<Example> train,
            List<Example> heldOut, int rankings, long start, int stopAt) throws IOException {
        Path out = Files.createDirectories(s.out());
        Path metricsFile = out.resolve("metrics.jsonl");
        int trainPairs = train.stream().mapToInt(e -> e.group().pairs().size()).sum();
        int heldPairs = heldOut.stream().mapToInt(e -> e.group().pairs().size()).sum();
        float referenceProbe = heldOut.get(0).refLogps()[0];
        try (AdamW adam = AdamW.withWeightDecay(0f)) {
            int startStep = 0;
            if (Files.exists(out.resolve(Checkpoints.LATEST))) {
                Path ckpt = Checkpoints.resolve(out);
                JsonNode state = JSON.readTree(ckpt.resolve(Checkpoints.STATE).toFile());
                ResumeCheck.requireSame(state.get("settings"), fingerprint(policy), out);
                Checkpoints.loadWeightsInto(policy, ckpt);
                adam.restore(SafeTensors.read(ckpt.resolve(Checkpoints.OPTIMIZER)), policy.device());
                startStep = state.path("step").asInt();
                console.println("dpo       resuming from " + ckpt.getFileName() + " (step " + startStep + ")");
            } else {
                console.printf("dpo       %s loss, beta %s; %d rankings -> %d train pairs (%d prompts), %d held-out pairs "
                                + "(%d prompts); policy %s%s%n", s.loss().spelling(), s.beta(), rankings,
                        trainPairs, train.size(), heldPairs, heldOut.size(), policy.config().describe(),
                        s.lora() != null ? ", LoRA rank " + s.lora().rank() : "");
            }
            LearningRateSchedule schedule = new LearningRateSchedule(s.learningRate(),
                    LearningRateSchedule.tenthOf(s.learningRate()), Math.min(s.warmupSteps(), s.steps()), s.steps());
            int batchesPerEpoch = (train.size() + s.groupsPerBatch() - 1) / s.groupsPerBatch();
            Progress progress = new Progress("dpo", s.steps(), "pairs", console, s.logEveryMs());
            Stats eval = null;
            try (MetricsLog metrics = MetricsLog.open(metricsFile, startStep)) {
                List<List<Example>> epochBatches = null;
                int epochOfBatches = -1;
                for (int step = startStep; step < s.steps(); step++) {
                    Cancellation.check("DPO step " + step);
                    int epoch = step / batchesPerEpoch;
                    if (epoch != epochOfBatches) {
                        List<Example> order = new ArrayList<>(train);
                        Collections.shuffle(order, new Random(s.seed() * 1_000_003L + epoch));
                        epochBatches = new ArrayList<>();
                        for (int i = 0; i < order.size(); i += s.groupsPerBatch()) {
                            epochBatches.add(order.subList(i, Math.min(order.size(), i + s.groupsPerBatch())));
                        }
                        epochOfBatches = epoch;
                    }
                    float lr = schedule.at(step);
                    Stats st = trainStep(policy, adam, epochBatches.get(step % batchesPerEpoch), lr);
                    int done = step + 1;
                    Map<String, Object> rec = new LinkedHashMap<>();
                    rec.put("step", done);
                    st.into(rec, "");
                    rec.put("lr", lr);
                    if (done % s.evalEvery() == 0 || done == s.steps()) {
                        eval = evaluate(policy, heldOut);
                        eval.into(rec, "val_");
                        console.printf("dpo       step %d: val rewards/accuracies %.4f, margins %.4f, loss %.4f (%d "
                                + "held-out pairs)%n", done, eval.accuracy(), eval.margin(), eval.loss(), eval.pairs());
                    }
                    metrics.log(rec);
                    progress.update(done, st.pairs(), String.format("loss %.4f | acc %.3f | margin %.3f", st.loss(),
                            st.accuracy(), st.margin()));
                    boolean stop = stopAt > 0 && done >= stopAt && done < s.steps();
                    if (done % s.checkpointEvery() == 0 || done == s.steps() || stop) {
                        save(out, done, policy, tokenizer, adam);
                    }
                    if (stop) {
                        console.println("dpo       stopped at step " + done + " (resumable)");
                        return new DpoResult(Double.NaN, Double.NaN, Double.NaN, Double.NaN, done, trainPairs, heldPairs,
                                (System.nanoTime() - start) / 1e9, out, null, metricsFile, null, null, true);
                    }
                }
            }
            if (eval == null) {
                eval = evaluate(policy, heldOut);
            }
            double kl = klToReference(policy, reference, tokenizer, encoder, heldOut);
            float probe = ResponseLogps.values(reference, List.of(heldOut.get(0).sequences()), s.loss().lengthNormalised(),
                    1)[0];
            boolean frozen = Math.abs(probe - referenceProbe) <= 1e-4 * Math.max(1, Math.abs(referenceProbe));
            Path policyDir = Checkpoints.replaceFolder(out.resolve("policy"),
                    folder -> Checkpoints.writeModel(folder, policy, tokenizer));
            var records = MetricsLog.read(metricsFile);
            Path report = Files.createDirectories(out.resolve("report"));
            Path rewardsChart = report.resolve("rewards.svg");
            new SvgChart("DPO: implicit rewards beta (logp - logp_ref)", "step", "reward")
                    .addFromMetrics("chosen", records, "step", "rewards/chosen")
                    .addFromMetrics("rejected", records, "step", "rewards/rejected")
                    .addFromMetrics("margin", records, "step", "rewards/margins")
                    .write(rewardsChart);
            Path accuracyChart = report.resolve("accuracy.svg");
            new SvgChart("DPO: implicit-reward pairwise accuracy", "step", "accuracy")
                    .addFromMetrics("train (batch)", records, "step", "rewards/accuracies")
                    .addFromMetrics("held-out", records, "step", "val_rewards/accuracies")
                    .write(accuracyChart);
            return new DpoResult(eval.accuracy(), eval.margin(), eval.loss(), kl, s.steps(), trainPairs, heldPairs,
                    (System.nanoTime() - start) / 1e9, out, policyDir, metricsFile, rewardsChart, accuracyChart, frozen);
        }
    }

    /** One optimizer step on whole prompt groups: every response once, every pair of the groups in the loss. */
    private Stats trainStep(Gpt policy, AdamW adam, List<Example> batch, float lr) {
        List<ExampleEncoder.Encoded> seqs = new ArrayList<>();
        int[] sizes = new int[batch.size()];
        List<int[]> pairs = new ArrayList<>();
        List<float[]> refs = new ArrayList<>();
        List<PlackettLuce.Term> terms = new ArrayList<>();
        float[] ref = new float[batch.stream().mapToInt(e -> e.sequences().size()).sum()];
        int ranked = 0;
        for (int g = 0; g < batch.size(); g++) {
            Example e = batch.get(g);
            int offset = seqs.size();
            seqs.addAll(e.sequences());
            sizes[g] = e.sequences().size();
            System.arraycopy(e.refLogps(), 0, ref, offset, sizes[g]);
            for (PreferencePair p : e.group().pairs()) {
                pairs.add(new int[] {offset + p.better(), offset + p.worse()});
                refs.add(new float[] {e.refLogps()[p.better()], e.refLogps()[p.worse()]});
            }
            for (PlackettLuce.Term t : e.terms()) {
                terms.add(new PlackettLuce.Term(offset + t.chosen(), java.util.Arrays.stream(t.among())
                        .map(j -> offset + j).toArray()));
            }
            ranked += e.rankings();
        }
        try (NDManager m = NDManager.newBaseManager(policy.device());
             GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray logps = ResponseLogps.of(m, policy, seqs, sizes, s.loss().lengthNormalised());
            NDArray[] sel = selections(m, pairs, seqs.size());
            NDArray chosen = sel[0].matMul(logps.reshape(seqs.size(), 1)).reshape(pairs.size());
            NDArray rejected = sel[1].matMul(logps.reshape(seqs.size(), 1)).reshape(pairs.size());
            float[] rc = new float[pairs.size()], rr = new float[pairs.size()];
            for (int i = 0; i < pairs.size(); i++) {
                rc[i] = refs.get(i)[0];
                rr[i] = refs.get(i)[1];
            }
            NDArray loss = s.loss().rankwise()
                    ? PlackettLuce.loss(m, logps.sub(m.create(ref)).mul((float) s.beta()), terms).div(Math.max(1, ranked))
                    : s.loss().perPair(chosen, rejected, m.create(rc), m.create(rr), s.beta(), s.labelSmoothing()).mean();
            float lossValue = loss.getFloat();
            adam.step(loss, policy.parameters(), lr, s.clipNorm());
            return stats(lossValue, chosen.toFloatArray(), rejected.toFloatArray(), rc, rr);
        }
    }

    /** (P, N) one-hot selections of each pair's chosen and rejected sequence: differentiable gathers. */
    private static NDArray[] selections(NDManager m, List<int[]> pairs, int n) {
        float[] c = new float[pairs.size() * n];
        float[] r = new float[pairs.size() * n];
        for (int i = 0; i < pairs.size(); i++) {
            c[i * n + pairs.get(i)[0]] = 1f;
            r[i * n + pairs.get(i)[1]] = 1f;
        }
        Shape shape = new Shape(pairs.size(), n);
        return new NDArray[] {m.create(c, shape), m.create(r, shape)};
    }

    /** TRL's statistics of a set of pairs; {@code loss} is given (the batch's) or NaN to compute it from the formula. */
    private Stats stats(double loss, float[] pc, float[] pr, float[] rc, float[] rr) {
        int n = pc.length;
        double chosen = 0, rejected = 0, right = 0, lc = 0, lr = 0, sum = 0;
        for (int i = 0; i < n; i++) {
            double a = s.beta() * (pc[i] - rc[i]);
            double b = s.beta() * (pr[i] - rr[i]);
            chosen += a;
            rejected += b;
            right += a > b ? 1 : a == b ? 0.5 : 0;
            lc += pc[i];
            lr += pr[i];
            sum += s.loss().perPair(pc[i], pr[i], rc[i], rr[i], s.beta(), s.labelSmoothing());
        }
        return new Stats(Double.isNaN(loss) ? sum / n : loss, chosen / n, rejected / n, right / n, (chosen - rejected) / n,
                lc / n, lr / n, n);
    }

    /**
     * Held-out statistics: the policy's log-probabilities without gradient against the precomputed reference's. The
     * implicit-reward statistics are over pairs for every loss; the loss is the training loss (Plackett-Luce: per
     * ranking).
     */
    Stats evaluate(Gpt policy, List<Example> groups) {
        float[] logps = ResponseLogps.values(policy, groups.stream().map(Example::sequences).toList(),
                s.loss().lengthNormalised(), CHUNK);
        List<Float> pc = new ArrayList<>(), pr = new ArrayList<>(), rc = new ArrayList<>(), rr = new ArrayList<>();
        double rankLoss = 0;
        int ranked = 0;
        int offset = 0;
        for (Example e : groups) {
            double[] scores = new double[e.sequences().size()];
            for (int i = 0; i < scores.length; i++) {
                scores[i] = s.beta() * (logps[offset + i] - e.refLogps()[i]);
            }
            rankLoss += PlackettLuce.loss(scores, e.terms());
            ranked += e.rankings();
            for (PreferencePair p : e.group().pairs()) {
                pc.add(logps[offset + p.better()]);
                pr.add(logps[offset + p.worse()]);
                rc.add(e.refLogps()[p.better()]);
                rr.add(e.refLogps()[p.worse()]);
            }
            offset += e.sequences().size();
        }
        Stats pairs = stats(Double.NaN, floats(pc), floats(pr), floats(rc), floats(rr));
        return s.loss().rankwise() ? new Stats(rankLoss / Math.max(1, ranked), pairs.chosen(), pairs.rejected(),
                pairs.accuracy(), pairs.margin(), pairs.logpChosen(), pairs.logpRejected(), pairs.pairs()) : pairs;
    }

    private static float[] floats(List<Float> list) {
        float[] a = new float[list.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = list.get(i);
        }
        return a;
    }

    /**
     * KL(policy || reference) per response as the RL stage measures it: one response sampled from the policy (T = 1)
     * per held-out prompt, the sum over its tokens of logp - logp_ref.
     */
    private double klToReference(Gpt policy, Gpt reference, Tokenizer tokenizer, ExampleEncoder encoder,
            List<Example> heldOut) {
        List<int[]> prompts = new ArrayList<>();
        for (Example e : heldOut) {
            prompts.add(encoder.prompt(e.group().prompt(), s.klMaxNewTokens(), s.rankings() + ":" + e.group().line()));
        }
        return seed.reward.eval.PolicyKl.measure(policy, reference, tokenizer, prompts, s.klMaxNewTokens(),
                s.seed() * 7_777L + 3);
    }

    /** The settings that shape the run (paths and logging left out) and the model's shape. */
    private ObjectNode fingerprint(Gpt policy) {
        ObjectNode n = JSON.valueToTree(s);
        n.remove(List.of("policy", "rankings", "out", "logEveryMs", "checkpointEvery"));
        n.put("shape", policy.config().describe());
        return n;
    }

    private void save(Path out, int step, Gpt policy, Tokenizer tokenizer, AdamW adam) throws IOException {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("stage", "dpo");
        state.put("step", step);
        state.put("settings", fingerprint(policy));
        Checkpoints.commit(out, Checkpoints.nameFor(step), 2, folder -> {
            Checkpoints.writeModel(folder, policy, tokenizer);
            SafeTensors.write(folder.resolve(Checkpoints.OPTIMIZER), adam.state(), Map.of("producer", "seed-dpo"));
            Files.writeString(folder.resolve(Checkpoints.STATE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(state));
        });
    }
}
