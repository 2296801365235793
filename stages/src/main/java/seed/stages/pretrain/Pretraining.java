package seed.stages.pretrain;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.data.TextCorpus;
import seed.stages.metrics.MetricsLog;
import seed.stages.metrics.SvgChart;
import seed.stages.model.Family;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.model.HuggingFace;
import seed.stages.model.HuggingFaceConfig;
import seed.stages.plan.DataBudget;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.TrainResult;
import seed.stages.train.TrainSettings;
import seed.stages.train.Trainer;

/**
 * Stage 1: self-supervised next-token training of a fresh model on raw text. Inputs and outputs are explicit
 * ({@link PretrainRequest} in, {@link TrainResult} out) so the CLI, the pipeline and (later) a Kestra task share it.
 */
public final class Pretraining {

    private Pretraining() {
    }

    public static TrainResult run(PretrainRequest request, PrintStream out) throws IOException {
        Path init = request.initFrom();
        Tokenizer tokenizer = request.resumeFrom() != null ? Checkpoints.loadTokenizer(request.resumeFrom())
                : init != null ? Checkpoints.loadTokenizer(init)
                : request.tokenizerDir() != null ? Tokenizer.load(request.tokenizerDir()) : new ByteTokenizer();
        // --init: the model's weights and shape (its config.json) replace the shape flags (continued pretraining)
        try (Gpt model = init != null ? initModel(init, request.context()) : Gpt.initialize(request.architecture()
                .config(tokenizer.vocabSize(), request.context(), request.layers(), request.dModel(), request.heads()),
                request.settings().seed())) {
            GptConfig config = model.config();
            if (request.resumeFrom() != null) {
                requireSameShape(config, request.resumeFrom());
            }
            int[] tokens = TextCorpus.tokenize(request.corpus(), tokenizer);
            TextCorpus corpus = new TextCorpus(tokens, 0.1, request.settings().batchSize(), config.context(),
                    request.settings().seed(), 8);
            warnIfMissized(request, config, tokens.length * 0.9, out);
            Trainer trainer = new Trainer("pretrain", model, tokenizer, corpus, request.settings(), request.outDir(), out);
            return trainer.run(request.resumeFrom(), request.stopAt());
        }
    }

    /**
     * Says when the run is not sized for its data (issue 21): fewer than 5 tokens per parameter for a model trained
     * from scratch (continued pretraining of a base model adapts it, and needs no such budget), or more than 4
     * epochs over the training part of the corpus.
     */
    static void warnIfMissized(PretrainRequest request, GptConfig config, double corpusTokens, PrintStream out) {
        double seen = (double) request.settings().steps() * request.settings().batchSize() * config.context();
        for (String warning : DataBudget.warnings(config.parameterCount(), seen, corpusTokens)) {
            if (request.initFrom() == null || warning.contains("epochs")) {
                out.println("pretrain: warning: " + warning);
            }
        }
    }

    /**
     * The model to continue from: a Seed checkpoint, a LoRA checkpoint (folded) or a Hugging Face folder. A
     * Llama-family model (RoPE: no table sized by the context) trains at {@code context} when that is shorter than
     * the one it was made for, so a 4k-context model fine-tunes at the run's context.
     */
    static Gpt initModel(Path init, int context) throws IOException {
        if (HuggingFace.isModelFolder(init)) { // at the run's context: the memory check sees what will be trained
            int own = HuggingFaceConfig.read(init, 0).context();
            return HuggingFace.load(init, new HuggingFace.LoadOptions(context > 0 && context < own ? context : 0, 1,
                    null, null));
        }
        Gpt model = Checkpoints.mergedBase(init);
        if (model.config().family() != Family.LLAMA || context <= 0 || context >= model.config().context()) {
            return model;
        }
        try (model) {
            return Gpt.fromWeights(model.config().withContext(context), model.weights());
        }
    }

    /**
     * A base model adopted as the pretraining stage's result without training (a flow given a base model and no
     * pretraining steps): its checkpoint written into {@code outDir} as a run of 0 steps, its held-out loss on
     * {@code corpus} measured as a pretraining run's would be, so later stages and the report read it the same way.
     */
    public static TrainResult adopt(Path base, Path corpus, Path outDir, int context, int batch, long seed,
            PrintStream out) throws IOException {
        Tokenizer tokenizer = Checkpoints.loadTokenizer(base);
        try (Gpt model = initModel(base, context)) {
            TextCorpus data = new TextCorpus(TextCorpus.tokenize(corpus, tokenizer), 0.1, batch,
                    model.config().context(), seed, 8);
            TrainSettings settings = new TrainSettings(1, batch, 1e-3f, 1e-4f, 0, 0f, 0f, 1, 1, 1, seed, 2000);
            double valLoss = new Trainer("pretrain", model, tokenizer, data, settings, outDir, out).evaluate();
            out.printf("pretrain: adopted %s (%s, %,d parameters) without training; held-out loss on the corpus %.4f%n",
                    base, model.config().describe(), model.config().parameterCount(), valLoss);
            Files.createDirectories(outDir);
            Path metrics = outDir.resolve("metrics.jsonl");
            try (MetricsLog log = MetricsLog.open(metrics, 0)) {
                log.log(Map.of("step", 0, "val_loss", valLoss));
            }
            Path chart = Files.createDirectories(outDir.resolve("report")).resolve("loss.svg");
            new SvgChart("pretrain loss (adopted base, not trained)", "step", "loss (nats/token)")
                    .add("validation", 0, valLoss).write(chart);
            Path checkpoint = Checkpoints.commit(outDir, Checkpoints.nameFor(0), 1,
                    folder -> Checkpoints.writeModel(folder, model, tokenizer));
            return new TrainResult(checkpoint, metrics, chart, 0, Double.NaN, valLoss, 0, true);
        }
    }

    /** A resumed run must have exactly the checkpoint's shape; say which dimension differs. */
    static void requireSameShape(GptConfig wanted, Path resumeFrom) throws IOException {
        GptConfig saved = Checkpoints.readConfig(Checkpoints.resolve(resumeFrom));
        if (!saved.equals(wanted)) {
            throw new IllegalArgumentException("cannot resume from " + resumeFrom + ": it holds a model of "
                    + saved.describe() + " but this run asks for " + wanted.describe());
        }
    }
}
