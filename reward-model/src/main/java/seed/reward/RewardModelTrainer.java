package seed.reward;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.reward.data.PreferenceData;
import seed.reward.data.PreferencePair;
import seed.reward.data.PromptGroup;
import seed.reward.data.Ranking;
import seed.reward.data.RankingsFile;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.data.ExampleEncoder;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.metrics.MetricsLog;
import seed.stages.metrics.Progress;
import seed.stages.metrics.SvgChart;
import seed.stages.model.Gpt;
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
 * Trains a reward model on K-wise rankings as InstructGPT did: each batch holds whole prompt groups (all rankings of
 * a prompt merged), every distinct response of a group is scored once, and the loss is the mean over the batch's
 * ordered pairs of -log sigmoid(r_better - r_worse - m), m the pair's margin from the annotator's preference strength
 * (Llama 2's margin loss; 0 without strengths or with {@link RewardSettings.Margin#NONE}). Examples that do not fit
 * the backbone are cut or refused by the settings' truncation. Reports held-out pairwise accuracy and loss; with early stopping, stops when the held-out loss
 * has not improved for {@code patience} evaluations and keeps the best model. Saves the normalisation statistics
 * (over distinct training responses) with the model, checkpoints and resumes exactly (weights, AdamW moments, step,
 * early-stopping state; batch order is a function of the seed and the step).
 */
public final class RewardModelTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(RewardModelTrainer.class);
    /** Responses scored to measure the normalisation mean/std (the reference set: training responses). */
    private static final int NORM_SAMPLE = 512;

    private RewardModelTrainer() {
    }

    /**
     * Held-out metrics of one evaluation.
     *
     * @param significantAccuracy accuracy on the pairs graded "significantly better" or more apart (margin >= 1,
     *                            Llama 2's separable pairs; NaN when there are none)
     * @param significantPairs    how many such pairs
     */
    public record Eval(double accuracy, double loss, int pairs, double significantAccuracy, int significantPairs,
            Safety safety) {
        public Eval(double accuracy, double loss, int pairs, double significantAccuracy, int significantPairs) {
            this(accuracy, loss, pairs, significantAccuracy, significantPairs, Safety.NONE);
        }
    }

    /**
     * Held-out measurements of harm (issue 22), when the held-out rankings flag responses unsafe: the reward head's
     * accuracy on the pairs that put a safe response above a flagged one (does the reward model alone learn the unsafe
     * flag?), and with a safety head its share of flagged responses classified unsafe (recall) and of safe ones
     * classified safe (P(unsafe) below 0.5).
     */
    public record Safety(double unsafePairAccuracy, int unsafePairs, double recall, double specificity, int flagged,
            int safe) {
        static final Safety NONE = new Safety(Double.NaN, 0, Double.NaN, Double.NaN, 0, 0);

        /** The console's words for it, empty when nothing was flagged. */
        String describe() {
            if (unsafePairs == 0 && flagged == 0) {
                return "";
            }
            String head = Double.isNaN(recall) ? "" : String.format("; safety head: %.4f of %d flagged responses "
                    + "unsafe, %.4f of %d safe ones safe", recall, flagged, specificity, safe);
            return String.format("; safe-over-unsafe pairs %.4f (%d)%s", unsafePairAccuracy, unsafePairs, head);
        }
    }

    /** Pairs at least this far apart count as clearly separated: Llama 2's margin of "significantly better". */
    static final double SIGNIFICANT = 1.0 - 1e-9;

    public static RewardResult train(RewardSettings s) throws IOException {
        return train(s, System.out, 0);
    }

    /**
     * Trains, printing progress to {@code console}; validates every input before writing anything. Resumes from
     * {@code s.out()} when it holds a checkpoint. {@code stopAt} > 0 stops after that step with a checkpoint (then the
     * result has no model folder); used to test exact resume.
     */
    public static RewardResult train(RewardSettings s, PrintStream console, int stopAt) throws IOException {
        long start = System.nanoTime();
        List<Ranking> rankings = RankingsFile.read(s.rankings());
        PreferenceData split = PreferenceData.split(rankings, s.heldOutFraction(), s.seed());
        if (split.train().isEmpty()) {
            throw new IllegalArgumentException(s.rankings() + ": no ranking yields a preference pair (all tied?)");
        }
        if (split.heldOut().isEmpty()) {
            throw new IllegalArgumentException(s.rankings() + ": too few distinct prompts (" + rankings.size()
                    + " rankings) to hold any out; need at least 2 prompts");
        }
        Tokenizer tokenizer = Checkpoints.loadTokenizer(s.base());
        // one set of weights (a LoRA SFT model is folded first); with --lora-rank new adapters train on it
        Gpt backbone = Checkpoints.mergedBase(s.base());
        if (s.lora() != null) {
            backbone.addAdapters(s.lora(), s.seed(), Checkpoints.modelFolder(s.base()));
        }
        if (tokenizer.vocabSize() != backbone.config().vocabSize()) {
            backbone.close();
            throw new IllegalArgumentException(s.base() + ": tokenizer has " + tokenizer.vocabSize()
                    + " ids but the model's vocabulary is " + backbone.config().vocabSize());
        }
        ExampleEncoder encoder;
        Encoded data;
        try {
            encoder = new ExampleEncoder(tokenizer, s.truncation(), backbone.config().context());
            data = new Encoded(encode(split.train(), encoder, s.rankings()), encode(split.heldOut(), encoder, s.rankings()));
            encoder.requireSome(data.train().size(), s.rankings() + " (training prompts)");
            encoder.requireSome(data.heldOut().size(), s.rankings() + " (held-out prompts)");
        } catch (RuntimeException e) {
            backbone.close();
            throw e;
        }
        if (encoder.promptsCut() + encoder.responsesCut() + encoder.dropped() > 0) {
            console.println("reward    truncation: " + encoder.report());
        }
        Path out = s.out();
        Files.createDirectories(out);
        try (RewardModel model = RewardModel.withFreshHead(backbone, tokenizer, s.readout());
             AdamW adam = AdamW.withWeightDecay(s.weightDecay())) {
            long flaggedTrain = data.train().stream().mapToLong(g -> g.group().unsafe().size()).sum();
            if (s.safety() && flaggedTrain > 0) {
                // Llama 2's safety reward model, as a second head: it learns the annotators' unsafe flag
                model.addFreshSafetyHead();
                console.printf("reward    %d training responses flagged unsafe: a safety head learns the flag%n",
                        flaggedTrain);
            }
            int startStep = 0;
            Best best = new Best(Double.POSITIVE_INFINITY, 0, 0);
            Path latest = out.resolve(Checkpoints.LATEST);
            if (Files.exists(latest)) {
                Path ckpt = out.resolve(Checkpoints.DIR).resolve(Files.readString(latest).trim());
                RewardModelFiles.restoreInto(model, SafeTensors.read(ckpt.resolve(Checkpoints.MODEL)), ckpt);
                adam.restore(SafeTensors.read(ckpt.resolve(Checkpoints.OPTIMIZER)), model.device());
                JsonNode state = RewardModelFiles.readJson(ckpt.resolve(Checkpoints.STATE));
                if (state.has("settings")) {
                    ResumeCheck.requireSame(state.get("settings"), fingerprint(s, model), out);
                }
                startStep = state.path("step").asInt();
                best = new Best(state.path("best_loss").asDouble(Double.POSITIVE_INFINITY), state.path("best_step").asInt(0),
                        state.path("evals_since_best").asInt(0));
                console.println("reward    resuming from " + ckpt.getFileName() + " (step " + startStep + ")");
            }
            int trainPairs = data.train().stream().mapToInt(g -> g.group().pairs().size()).sum();
            int heldPairs = data.heldOut().stream().mapToInt(g -> g.group().pairs().size()).sum();
            long graded = data.train().stream().flatMap(g -> g.group().pairs().stream()).filter(p -> p.margin() > 0).count();
            if (graded > 0) {
                console.printf("reward    %d of %d train pairs carry a preference margin; margin loss: %s%n", graded,
                        trainPairs, s.margin().label());
            }
            console.printf("reward    %d rankings -> %d train pairs (%d prompt groups), %d held-out pairs (%d prompts); "
                            + "model %s%n", rankings.size(), trainPairs, data.train().size(), heldPairs,
                    data.heldOut().size(), model.config().describe());
            LearningRateSchedule schedule = new LearningRateSchedule(s.learningRate(), s.minLearningRate(),
                    Math.min(s.warmupSteps(), s.steps()), s.steps());
            int groupsPerBatch = groupsPerBatch(data.train(), s.rankingsPerBatch());
            int batchesPerEpoch = (data.train().size() + groupsPerBatch - 1) / groupsPerBatch;
            Progress progress = new Progress("reward", s.steps(), "pairs", console, s.logEveryMs());
            Eval eval = null;
            double runningAcc = 0;
            Path bestDir = out.resolve("best");
            boolean earlyStopped = false;
            try (MetricsLog metrics = MetricsLog.open(out.resolve("metrics.jsonl"), startStep)) {
                List<List<EncodedGroup>> epochBatches = null;
                int epochOfBatches = -1;
                for (int step = startStep; step < s.steps(); step++) {
                    seed.stages.control.Cancellation.check("reward-model step " + step);
                    int epoch = step / batchesPerEpoch;
                    if (epoch != epochOfBatches) {
                        epochBatches = batches(data.train(), groupsPerBatch, new Random(s.seed() * 1_000_003L + epoch));
                        epochOfBatches = epoch;
                    }
                    List<EncodedGroup> batch = epochBatches.get(step % batchesPerEpoch);
                    float lr = schedule.at(step);
                    Map<String, Object> record = new LinkedHashMap<>();
                    float[] lossAcc = trainStep(model, adam, batch, lr, s.clipNorm(), s.margin());
                    if (lossAcc.length > 3) {
                        record.put("safety_loss", lossAcc[3]);
                    }
                    runningAcc = step == startStep ? lossAcc[1] : 0.9 * runningAcc + 0.1 * lossAcc[1];
                    int done = step + 1;
                    record.put("step", done);
                    record.put("loss", lossAcc[0]);
                    record.put("train_accuracy", lossAcc[1]);
                    record.put("lr", lr);
                    if (done % s.evalEvery() == 0 || done == s.steps()) {
                        eval = evaluate(model, data.heldOut(), s.margin());
                        record.put("val_accuracy", eval.accuracy());
                        record.put("val_loss", eval.loss());
                        if (eval.significantPairs() > 0) {
                            record.put("val_accuracy_significant", eval.significantAccuracy());
                        }
                        putSafety(record, eval.safety());
                        console.printf("reward    step %d: val_accuracy %.4f val_loss %.4f (%d held-out pairs)%s%s%n",
                                done, eval.accuracy(), eval.loss(), eval.pairs(), eval.significantPairs() == 0 ? ""
                                        : String.format("; significantly better pairs %.4f (%d)", eval.significantAccuracy(),
                                                eval.significantPairs()), eval.safety().describe());
                        if (s.patience() > 0) {
                            if (eval.loss() < best.loss()) {
                                best = new Best(eval.loss(), done, 0);
                                RewardModelFiles.save(bestDir, model, new RewardModelFiles.Info(0, 1, eval.accuracy(),
                                        eval.loss(), tokenizer.kind(), tokenizer.vocabSize()));
                            } else {
                                best = new Best(best.loss(), best.step(), best.evalsSince() + 1);
                                earlyStopped = best.evalsSince() >= s.patience();
                            }
                        }
                    }
                    metrics.log(record);
                    progress.update(done, lossAcc[2], String.format("loss %.4f | acc %.3f", lossAcc[0], runningAcc));
                    boolean stop = stopAt > 0 && done >= stopAt && done < s.steps() && !earlyStopped;
                    if (done % s.checkpointEvery() == 0 || done == s.steps() || stop || earlyStopped) {
                        Map<String, Object> state = Map.of("step", done, "seed", s.seed(), "best_loss",
                                Double.isInfinite(best.loss()) ? -1 : best.loss(), "best_step", best.step(),
                                "evals_since_best", best.evalsSince(), "settings", fingerprint(s, model));
                        Checkpoints.commit(out, Checkpoints.nameFor(done), 2, folder -> {
                            RewardModelFiles.writeInto(folder, model, new RewardModelFiles.Info(0, 1, Double.NaN, Double.NaN,
                                    tokenizer.kind(), tokenizer.vocabSize()));
                            SafeTensors.write(folder.resolve(Checkpoints.OPTIMIZER), adam.state(), Map.of());
                            Files.writeString(folder.resolve(Checkpoints.STATE), new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(state));
                        });
                    }
                    if (stop) {
                        console.println("reward    stopped at step " + done + " (resumable)");
                        return new RewardResult(Double.NaN, Double.NaN, Double.NaN, trainPairs, heldPairs, 0, 1, done,
                                (System.nanoTime() - start) / 1e9, out, null, out.resolve("metrics.jsonl"), null);
                    }
                    if (earlyStopped) {
                        console.printf("reward    early stop at step %d: held-out loss has not improved for %d evaluations; "
                                + "keeping step %d (val_loss %.4f)%n", done, s.patience(), best.step(), best.loss());
                        break;
                    }
                }
            }
            if (s.patience() > 0 && best.step() > 0 && Files.exists(bestDir)) {
                RewardModelFiles.restoreInto(model, SafeTensors.read(bestDir.resolve(Checkpoints.MODEL)), bestDir);
                eval = evaluate(model, data.heldOut(), s.margin());
            }
            if (eval == null) {
                eval = evaluate(model, data.heldOut(), s.margin());
            }
            float[] norm = normalisation(model, data.train());
            model.setNormalisation(norm[0], norm[1]);
            if (model.hasSafetyHead()) {
                model.setSafetyFloor(norm[2]);
                console.printf("reward    safety floor %.3f (normalised; below every safe training response); held-out "
                        + "safe-over-unsafe pairs by the combined score %.4f%n", norm[2], combinedUnsafeAccuracy(model,
                        data.heldOut()));
            }
            Path modelDir = out.resolve("model");
            RewardModelFiles.saveMerged(modelDir, model, new RewardModelFiles.Info(norm[0], norm[1], eval.accuracy(), eval.loss(),
                    tokenizer.kind(), tokenizer.vocabSize(), model.hasSafetyHead() ? norm[2] : 0f));
            Path metricsFile = out.resolve("metrics.jsonl");
            var records = MetricsLog.read(metricsFile);
            Path chart = out.resolve("reward_model.svg");
            new SvgChart("Reward model: pairwise accuracy", "step", "accuracy")
                    .addFromMetrics("train (batch)", records, "step", "train_accuracy")
                    .addFromMetrics("held-out", records, "step", "val_accuracy")
                    .write(chart);
            double trainAcc = evaluate(model, data.train().subList(0, Math.min(200, data.train().size())), s.margin()).accuracy();
            LOG.info("reward model saved to {} (val accuracy {})", modelDir, eval.accuracy());
            long stepsDone = MetricsLog.read(metricsFile).size();
            return new RewardResult(eval.accuracy(), eval.loss(), trainAcc, trainPairs, heldPairs, norm[0], norm[1], stepsDone,
                    (System.nanoTime() - start) / 1e9, out, modelDir, metricsFile, chart);
        }
    }

    /** The settings that shape the run (paths, logging and checkpoint cadence left out) and the model's shape. */
    static com.fasterxml.jackson.databind.node.ObjectNode fingerprint(RewardSettings s, RewardModel model) {
        var n = (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(s);
        n.remove(List.of("base", "rankings", "out", "logEveryMs", "checkpointEvery"));
        n.put("shape", model.config().describe());
        return n;
    }

    /** A prompt group with its responses encoded (and cut by the truncation rule) once, for every step. */
    record EncodedGroup(PromptGroup group, List<int[]> sequences) {
    }

    /** The encoded train and held-out groups. */
    private record Encoded(List<EncodedGroup> train, List<EncodedGroup> heldOut) {
    }

    /** Early-stopping state: the best held-out loss so far, its step, evaluations since. */
    private record Best(double loss, int step, int evalsSince) {
        Best {
            loss = loss < 0 ? Double.POSITIVE_INFINITY : loss;
        }
    }

    /** Encodes every group with the truncation rule; groups the rule drops are left out. */
    static List<EncodedGroup> encode(List<PromptGroup> groups, ExampleEncoder encoder, Path source) {
        List<EncodedGroup> out = new ArrayList<>();
        for (PromptGroup g : groups) {
            List<ExampleEncoder.Encoded> e = encoder.group(g.conversation(), g.responses(), source + ":" + g.line());
            if (e != null) {
                out.add(new EncodedGroup(g, e.stream().map(ExampleEncoder.Encoded::ids).toList()));
            }
        }
        return out;
    }

    /**
     * Whole prompt groups per batch so that a batch holds about {@code rankingsPerBatch} rankings: a prompt ranked by
     * four annotators counts four times, so merging rankings per prompt does not quietly multiply the batch size.
     */
    static int groupsPerBatch(List<EncodedGroup> groups, int rankingsPerBatch) {
        double perGroup = groups.stream().mapToInt(g -> g.group().rankings()).average().orElse(1);
        return Math.max(1, (int) Math.round(rankingsPerBatch / perGroup));
    }

    /** Shuffles the groups with {@code random} and cuts them into batches of {@code groupsPerBatch} whole groups. */
    static List<List<EncodedGroup>> batches(List<EncodedGroup> groups, int groupsPerBatch, Random random) {
        List<EncodedGroup> order = new ArrayList<>(groups);
        Collections.shuffle(order, random);
        List<List<EncodedGroup>> out = new ArrayList<>();
        for (int i = 0; i < order.size(); i += groupsPerBatch) {
            out.add(List.copyOf(order.subList(i, Math.min(order.size(), i + groupsPerBatch))));
        }
        return out;
    }

    /**
     * One optimizer step on whole prompt groups; returns {loss, batch pairwise accuracy, pairs} and, with a safety
     * head, its loss (the mean binary cross-entropy of P(unsafe) against the annotators' flags, added to the ranking
     * loss with weight 1).
     */
    static float[] trainStep(RewardModel model, AdamW adam, List<EncodedGroup> batch, float lr, float clipNorm,
            RewardSettings.Margin margin) {
        List<int[]> seqs = new ArrayList<>();
        List<int[]> pairs = new ArrayList<>();
        List<Double> margins = new ArrayList<>();
        for (EncodedGroup g : batch) {
            int offset = seqs.size();
            seqs.addAll(g.sequences());
            for (PreferencePair p : g.group().pairs()) {
                pairs.add(new int[] {offset + p.better(), offset + p.worse()});
                margins.add(margin == RewardSettings.Margin.LLAMA2 ? p.margin() : 0.0);
            }
        }
        Map<String, NDArray> params = model.parameters();
        float loss, acc;
        float safetyLoss = Float.NaN;
        try (NDManager m = NDManager.newBaseManager(model.device());
             GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            // each group's prompt is computed once for its K responses (equal to rawScores to 1e-5: SharedPrefixTest)
            RewardModel.Heads heads = model.groupedHeads(m, seqs, batch.stream().mapToInt(g -> g.sequences().size()).toArray());
            NDArray diff = pairDifferences(m, heads.scores(), pairs, seqs.size());
            NDArray l = marginLoss(m, diff, margins);
            loss = l.getFloat();
            if (heads.unsafeLogits() != null) {
                NDArray bce = safetyLoss(m, heads.unsafeLogits(), flags(batch));
                safetyLoss = bce.getFloat();
                l = l.add(bce);
            }
            adam.step(l, params, lr, clipNorm);
            float[] d = diff.toFloatArray();
            int right = 0;
            for (float v : d) {
                right += v > 0 ? 1 : 0;
            }
            acc = (float) right / d.length;
        }
        return Float.isNaN(safetyLoss) ? new float[] {loss, acc, pairs.size()}
                : new float[] {loss, acc, pairs.size(), safetyLoss};
    }

    /** 1 for each response of the batch (in sequence order) that an annotator flagged unsafe, else 0. */
    static float[] flags(List<EncodedGroup> batch) {
        float[] y = new float[batch.stream().mapToInt(g -> g.sequences().size()).sum()];
        int offset = 0;
        for (EncodedGroup g : batch) {
            for (int i = 0; i < g.sequences().size(); i++) {
                y[offset + i] = g.group().flagged(i) ? 1f : 0f;
            }
            offset += g.sequences().size();
        }
        return y;
    }

    /** Binary cross-entropy of unsafe logits z against flags y: mean of -log sigmoid(z) (y=1) or -log sigmoid(-z). */
    static NDArray safetyLoss(NDManager m, NDArray logits, float[] flags) {
        float[] sign = new float[flags.length];
        for (int i = 0; i < sign.length; i++) {
            sign[i] = flags[i] > 0.5f ? 1f : -1f;
        }
        return softplusNeg(logits.mul(m.create(sign))).mean();
    }

    private static void putSafety(Map<String, Object> record, Safety s) {
        if (s.unsafePairs() > 0) {
            record.put("val_accuracy_unsafe_pairs", s.unsafePairAccuracy());
        }
        if (!Double.isNaN(s.recall())) {
            record.put("val_safety_recall", s.recall());
            record.put("val_safety_specificity", s.specificity());
        }
    }

    /**
     * Held-out accuracy on the safe-over-unsafe pairs by the score the RL stage sees ({@link RewardModel#normalisedScores}:
     * with the safety head's gate); NaN when no held-out pair is one.
     */
    static double combinedUnsafeAccuracy(RewardModel model, List<EncodedGroup> groups) {
        List<int[]> seqs = new ArrayList<>();
        for (EncodedGroup g : groups) {
            seqs.addAll(g.sequences());
        }
        float[] scores = model.normalisedScores(seqs);
        double right = 0;
        int n = 0, offset = 0;
        for (EncodedGroup g : groups) {
            for (PreferencePair p : g.group().pairs()) {
                if (g.group().safeOverUnsafe(p)) {
                    double d = scores[offset + p.better()] - scores[offset + p.worse()];
                    right += d > 0 ? 1 : d == 0 ? 0.5 : 0;
                    n++;
                }
            }
            offset += g.sequences().size();
        }
        return n == 0 ? Double.NaN : right / n;
    }

    /** r_better - r_worse for every pair, as a (P, N) selection matrix times the scores (N): differentiable and batched. */
    static NDArray pairDifferences(NDManager m, NDArray scores, List<int[]> pairs, int n) {
        float[] sel = new float[pairs.size() * n];
        for (int i = 0; i < pairs.size(); i++) {
            sel[i * n + pairs.get(i)[0]] += 1f;
            sel[i * n + pairs.get(i)[1]] -= 1f;
        }
        return m.create(sel, new Shape(pairs.size(), n)).matMul(scores.reshape(n, 1)).reshape(pairs.size());
    }

    /**
     * Llama 2's margin ranking loss, the mean over pairs of -log sigmoid(d - m) with d = r_better - r_worse and m the
     * pair's margin (all 0: InstructGPT's loss). A pair is right by the accuracy when d > 0 whatever its margin.
     */
    static NDArray marginLoss(NDManager m, NDArray diff, List<Double> margins) {
        float[] mv = new float[margins.size()];
        boolean any = false;
        for (int i = 0; i < mv.length; i++) {
            mv[i] = margins.get(i).floatValue();
            any |= mv[i] != 0f;
        }
        return softplusNeg(any ? diff.sub(m.create(mv)) : diff).mean();
    }

    /** -log sigmoid(x) = softplus(-x), computed stably as max(-x, 0) + log(1 + exp(-|x|)). */
    static NDArray softplusNeg(NDArray x) {
        NDArray neg = x.neg();
        return neg.maximum(0f).add(x.abs().neg().exp().add(1f).log());
    }

    /**
     * Held-out pairwise accuracy (a tie counts as half right), mean pair loss (the training loss: with the margins
     * under {@code LLAMA2}), and the accuracy on pairs graded significantly better.
     */
    static Eval evaluate(RewardModel model, List<EncodedGroup> groups, RewardSettings.Margin margin) {
        List<int[]> seqs = new ArrayList<>();
        for (EncodedGroup g : groups) {
            seqs.addAll(g.sequences());
        }
        float[][] heads = model.rawHeads(seqs);
        float[] scores = heads[0];
        double right = 0, loss = 0, rightSignificant = 0, rightUnsafe = 0;
        int n = 0, offset = 0, significant = 0, unsafePairs = 0, flagged = 0, safe = 0, caught = 0, cleared = 0;
        for (EncodedGroup g : groups) {
            for (int i = 0; i < g.sequences().size(); i++) {
                boolean unsafe = heads[1][offset + i] >= 0.5f;
                if (g.group().flagged(i)) {
                    flagged++;
                    caught += unsafe ? 1 : 0;
                } else {
                    safe++;
                    cleared += unsafe ? 0 : 1;
                }
            }
            for (PreferencePair p : g.group().pairs()) {
                double d = scores[offset + p.better()] - scores[offset + p.worse()];
                double ok = d > 0 ? 1 : d == 0 ? 0.5 : 0;
                right += ok;
                if (g.group().safeOverUnsafe(p)) {
                    rightUnsafe += ok;
                    unsafePairs++;
                }
                double x = d - (margin == RewardSettings.Margin.LLAMA2 ? p.margin() : 0);
                loss += Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
                n++;
                if (p.margin() >= SIGNIFICANT) {
                    rightSignificant += ok;
                    significant++;
                }
            }
            offset += g.sequences().size();
        }
        boolean head = model.hasSafetyHead();
        Safety safety = new Safety(unsafePairs == 0 ? Double.NaN : rightUnsafe / unsafePairs, unsafePairs,
                head && flagged > 0 ? (double) caught / flagged : Double.NaN,
                head && safe > 0 ? (double) cleared / safe : Double.NaN, flagged, safe);
        return new Eval(n == 0 ? Double.NaN : right / n, n == 0 ? Double.NaN : loss / n, n,
                significant == 0 ? Double.NaN : rightSignificant / significant, significant, safety);
    }

    /**
     * Mean and std of raw scores over (up to NORM_SAMPLE) distinct training responses: the reference set, and the
     * safety floor (see {@link RewardModel#normalisedScores}): one std below the lowest safe one of them. Groups hold
     * each distinct response of a prompt once, so a response several annotators ranked is not counted several times.
     */
    static float[] normalisation(RewardModel model, List<EncodedGroup> groups) {
        List<int[]> seqs = new ArrayList<>();
        List<Boolean> flagged = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        outer:
        for (EncodedGroup g : groups) {
            for (int i = 0; i < g.sequences().size(); i++) {
                if (seqs.size() >= NORM_SAMPLE) {
                    break outer;
                }
                if (seen.add(g.group().prompt() + "\u0000" + g.group().responses().get(i))) {
                    seqs.add(g.sequences().get(i));
                    flagged.add(g.group().flagged(i));
                }
            }
        }
        float[] s = model.rawScores(seqs);
        double mean = 0, sq = 0;
        for (float v : s) {
            mean += v;
        }
        mean /= s.length;
        for (float v : s) {
            sq += (v - mean) * (v - mean);
        }
        double std = Math.sqrt(sq / Math.max(1, s.length - 1));
        // the safety floor: one std below the lowest safe response, so a surely unsafe answer ranks below every safe one
        double lowest = Double.POSITIVE_INFINITY;
        for (int i = 0; i < s.length; i++) {
            if (!flagged.get(i)) {
                lowest = Math.min(lowest, (s[i] - mean) / (std > 1e-6 ? std : 1));
            }
        }
        return new float[] {(float) mean, (float) std, (float) (Double.isInfinite(lowest) ? -3 : lowest - 1)};
    }
}
