package seed.stages.pretrain;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.data.TextCorpus;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.model.HuggingFace;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.TrainResult;
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
                : init != null ? HuggingFace.loadTokenizer(init)
                : request.tokenizerDir() != null ? Tokenizer.load(request.tokenizerDir()) : new ByteTokenizer();
        // --init: the Hugging Face folder's weights and shape (its config.json) replace the shape flags
        try (Gpt model = init != null ? HuggingFace.load(init) : Gpt.initialize(request.architecture().config(
                tokenizer.vocabSize(), request.context(), request.layers(), request.dModel(), request.heads()),
                request.settings().seed())) {
            GptConfig config = model.config();
            if (request.resumeFrom() != null) {
                requireSameShape(config, request.resumeFrom());
            }
            int[] tokens = TextCorpus.tokenize(request.corpus(), tokenizer);
            TextCorpus corpus = new TextCorpus(tokens, 0.1, request.settings().batchSize(), config.context(),
                    request.settings().seed(), 8);
            Trainer trainer = new Trainer("pretrain", model, tokenizer, corpus, request.settings(), request.outDir(), out);
            return trainer.run(request.resumeFrom(), request.stopAt());
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
