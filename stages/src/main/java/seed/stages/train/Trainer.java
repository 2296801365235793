package seed.stages.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.metrics.MetricsLog;
import seed.stages.metrics.Progress;
import seed.stages.metrics.SvgChart;
import seed.stages.model.Devices;
import seed.stages.model.Gpt;
import seed.stages.model.NoGrad;
import seed.stages.tokenizer.Tokenizer;

/**
 * The training loop shared by pretraining and SFT, in one readable file: sample the step's batch, forward, masked
 * cross-entropy, backward, clip, AdamW, and around it held-out evaluation, progress lines, metrics.jsonl,
 * atomic checkpoints that resume exactly, and the loss chart of the run's report.
 *
 * <p>Explicit inputs (model, tokenizer, batches, settings, output folder) and explicit outputs ({@link TrainResult});
 * no global state besides the engine.
 */
public final class Trainer {

    private final String stage;
    private final Gpt model;
    private final Tokenizer tokenizer;
    private final BatchSource data;
    private final TrainSettings settings;
    private final Path outDir;
    private final PrintStream out;

    public Trainer(String stage, Gpt model, Tokenizer tokenizer, BatchSource data, TrainSettings settings, Path outDir,
            PrintStream out) {
        this.stage = stage;
        this.model = model;
        this.tokenizer = tokenizer;
        this.data = data;
        this.settings = settings;
        this.outDir = outDir;
        this.out = out;
    }

    /**
     * Trains from {@code resumeFrom} (a checkpoint or run folder; null = from the model as given) up to
     * {@code settings.steps()}, or stops early after step {@code stopAt} (0 = never) with a resumable checkpoint.
     */
    public TrainResult run(Path resumeFrom, long stopAt) throws IOException {
        useCompute(); // a missing GPU fails here, before anything is written
        Files.createDirectories(outDir);
        try (AdamW optimizer = AdamW.withWeightDecay(settings.weightDecay())) {
            long step = 0;
            double bestVal = Double.NaN;
            long tokensSeen = 0;
            if (resumeFrom != null) {
                Path checkpoint = Checkpoints.resolve(resumeFrom);
                TrainState state = Checkpoints.JSON_READER.readValue(checkpoint.resolve(Checkpoints.STATE).toFile(),
                        TrainState.class);
                Checkpoints.loadWeightsInto(model, checkpoint);
                optimizer.restore(SafeTensors.read(checkpoint.resolve(Checkpoints.OPTIMIZER)), model.device());
                step = state.step();
                bestVal = state.bestValLoss();
                tokensSeen = state.tokensSeen();
                out.printf("%s: resumed from %s at step %d%n", stage, checkpoint, step);
            }
            out.printf("%s: model %s (%,d parameters%s); data %s; %d steps of %d sequences%n", stage,
                    model.config().describe(), model.config().parameterCount(), model.lora() == null ? ""
                            : String.format("; LoRA rank %d trains %,d", model.lora().rank(),
                                    model.adapterWeights().values().stream().mapToLong(t -> t.data().length).sum()),
                    data.describe(), settings.steps(), settings.batchSize());
            LearningRateSchedule schedule = settings.schedule();
            Progress progress = new Progress(stage, settings.steps(), "tok", out, settings.logEveryMs());
            List<Double> stepThroughput = new ArrayList<>(); // tokens per second of each step (SFT batches vary)
            double trainLoss = Double.NaN;
            double valLoss = Double.NaN;
            long end = stopAt > 0 ? Math.min(stopAt, settings.steps()) : settings.steps();
            try (MetricsLog metrics = MetricsLog.open(outDir.resolve("metrics.jsonl"), step)) {
                while (step < end) {
                    seed.stages.control.Cancellation.check("training step " + step);
                    Batch batch = data.trainBatch(step);
                    float rate = schedule.at((int) step);
                    long started = System.nanoTime();
                    float[] lossAndNorm = trainStep(batch, optimizer, rate);
                    double seconds = (System.nanoTime() - started) / 1e9;
                    step++;
                    trainLoss = lossAndNorm[0];
                    tokensSeen += batch.countedTokens();
                    double tokensPerSecond = (double) batch.size() * batch.length() / seconds;
                    stepThroughput.add(tokensPerSecond);
                    Map<String, Object> line = record("step", step, "loss", trainLoss, "lr", rate,
                            "tokens_per_s", Math.round(tokensPerSecond));
                    if (Float.isFinite(lossAndNorm[1])) {
                        line.put("grad_norm", lossAndNorm[1]); // computed only when clipping is on
                    }
                    metrics.log(line);
                    progress.update(step, (double) batch.size() * batch.length(),
                            String.format("loss %.4f | lr %.2e", trainLoss, rate));
                    if (!Double.isFinite(trainLoss)) {
                        throw new IllegalStateException(stage + ": loss became " + trainLoss + " at step " + step
                                + "; lower the learning rate (the last checkpoint is still intact)");
                    }
                    boolean last = step == end;
                    if (step % settings.evalEvery() == 0 || last) {
                        valLoss = evaluate();
                        bestVal = Double.isNaN(bestVal) ? valLoss : Math.min(bestVal, valLoss);
                        metrics.log(record("step", step, "val_loss", valLoss));
                        out.printf("%s: step %d val_loss %.4f%n", stage, step, valLoss);
                    }
                    if (step % settings.checkpointEvery() == 0 || last) {
                        saveCheckpoint(optimizer, new TrainState(stage, step, settings.steps(), settings.seed(),
                                valLoss, bestVal, tokensSeen, settings));
                    }
                }
            }
            if (Double.isNaN(valLoss)) {
                valLoss = evaluate();
            }
            Path chart = writeLossChart();
            Path checkpoint = Checkpoints.resolve(outDir);
            return new TrainResult(checkpoint, outDir.resolve("metrics.jsonl"), chart, step, trainLoss, valLoss,
                    median(stepThroughput), step >= settings.steps());
        }
    }

    /**
     * Times {@code count} optimizer steps after {@code warmup} untimed ones, with no evaluation, checkpoint or log in
     * between: the measurement behind {@code seed bench train}. Returns {seconds of each timed step..., last loss}.
     */
    public double[] timeSteps(int warmup, int count) {
        useCompute();
        double[] out = new double[count + 1];
        try (AdamW optimizer = AdamW.withWeightDecay(settings.weightDecay())) {
            for (int step = 0; step < warmup + count; step++) {
                Batch batch = data.trainBatch(step);
                long started = System.nanoTime();
                float[] lossAndNorm = trainStep(batch, optimizer, settings.learningRate());
                if (step >= warmup) {
                    out[step - warmup] = (System.nanoTime() - started) / 1e9;
                }
                out[count] = lossAndNorm[0];
            }
        }
        return out;
    }

    /** Puts the model on the settings' device and precision (validating the device before any work is done). */
    private void useCompute() {
        model.moveTo(Devices.parse(settings.device())).setPrecision(settings.precision());
    }

    /** One optimizer step; returns {loss, gradient norm before clipping}. */
    private float[] trainStep(Batch batch, AdamW optimizer, float rate) {
        try (NDManager manager = NDManager.newBaseManager(model.device());
                GradientCollector collector = newCollector()) {
            NDArray loss = loss(manager, batch);
            float value = loss.getFloat();
            float norm = optimizer.step(loss, model.parameters(), rate, settings.clipNorm());
            return new float[] {value, norm};
        }
    }

    /**
     * A gradient collector, or an error that says why there is none: DJL's PyTorch engine allows one open collector
     * per process (not per thread), so this fails when another stage of this JVM trains at the same moment.
     * Orchestrators run one training stage at a time per process (seed's workflows: {@code TrainingGate}).
     */
    private GradientCollector newCollector() {
        try {
            return Engine.getInstance().newGradientCollector();
        } catch (IllegalStateException e) {
            throw new IllegalStateException(stage + ": another stage of this process is training (DJL records the "
                    + "gradients of one model at a time per process): run training stages one after the other", e);
        }
    }

    /** Mean next-token cross-entropy over the counted target positions of a batch. */
    private NDArray loss(NDManager manager, Batch batch) {
        Shape shape = new Shape(batch.size(), batch.length());
        NDArray inputs = manager.create(batch.inputs(), shape);
        NDArray targets = manager.create(batch.targets(), shape);
        NDArray logits = model.forward(inputs);
        NDArray nll = logits.logSoftmax(-1).gather(targets.expandDims(-1), -1).squeeze(-1).neg();
        if (batch.lossMask() == null) {
            return nll.mean();
        }
        NDArray mask = manager.create(batch.lossMask(), shape);
        return nll.mul(mask).sum().div(mask.sum().maximum(1f));
    }

    /** Held-out loss: token-weighted mean over the fixed validation batches, without recording gradients. */
    public double evaluate() {
        double total = 0;
        long tokens = 0;
        try (NoGrad ignored = NoGrad.enter()) {
            for (Batch batch : data.validationBatches()) {
                try (NDManager manager = NDManager.newBaseManager(model.device())) {
                    long counted = batch.countedTokens();
                    total += loss(manager, batch).getFloat() * counted;
                    tokens += counted;
                }
            }
        }
        return tokens == 0 ? Double.NaN : total / tokens;
    }

    private void saveCheckpoint(AdamW optimizer, TrainState state) throws IOException {
        Checkpoints.commit(outDir, Checkpoints.nameFor(state.step()), settings.keepCheckpoints(), folder -> {
            Checkpoints.writeModel(folder, model, tokenizer);
            SafeTensors.write(folder.resolve(Checkpoints.OPTIMIZER), optimizer.state(), Map.of("producer", "seed"));
            Checkpoints.JSON.writeValue(folder.resolve(Checkpoints.STATE).toFile(), state);
        });
    }

    private Path writeLossChart() throws IOException {
        List<Map<String, Object>> records = MetricsLog.read(outDir.resolve("metrics.jsonl"));
        Path chart = Files.createDirectories(outDir.resolve("report")).resolve("loss.svg");
        new SvgChart(stage + " loss", "step", "loss (nats/token)")
                .addFromMetrics("train", records, "step", "loss")
                .addFromMetrics("validation", records, "step", "val_loss")
                .write(chart);
        return chart;
    }

    private static double median(List<Double> values) {
        if (values.isEmpty()) {
            return 0;
        }
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static Map<String, Object> record(Object... keysAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }
}
