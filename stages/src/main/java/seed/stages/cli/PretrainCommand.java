package seed.stages.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import seed.stages.pretrain.PretrainRequest;
import seed.stages.pretrain.Pretraining;
import seed.stages.train.Threads;
import seed.stages.train.TrainResult;

/** {@code seed pretrain}: stage 1 from the command line. The last line printed is {@code val_loss=<x>}. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = "Stage 1: next-token pretraining of a decoder-only transformer on a UTF-8 text corpus.")
public final class PretrainCommand implements Callable<Integer> {

    @Option(names = "--corpus", required = true, description = "UTF-8 text file to train on.")
    Path corpus;

    @Option(names = "--out", required = true, description = "Run folder: checkpoints, metrics.jsonl, report/.")
    Path out;

    @Option(names = "--tokenizer", description = "Folder with a tokenizer.json (default: bytes).")
    Path tokenizer;

    @Option(names = "--context", description = "Context length in tokens (default: ${DEFAULT-VALUE}).")
    int context = 128;

    @Option(names = "--layers", description = "Transformer blocks (default: ${DEFAULT-VALUE}).")
    int layers = 4;

    @Option(names = "--d-model", description = "Model width (default: ${DEFAULT-VALUE}).")
    int dModel = 128;

    @Option(names = "--heads", description = "Attention heads (default: ${DEFAULT-VALUE}).")
    int heads = 4;

    @Option(names = "--resume", description = "Checkpoint or run folder to continue from.")
    Path resume;

    @Option(names = "--init", description = "Start from a Hugging Face GPT-2 folder (seed export --format hf, or "
            + "GPT-2 style weights with Seed's special tokens): its weights, shape and tokenizer.")
    Path init;

    @Mixin
    ArchitectureOptions architecture;

    @Mixin
    TrainOptions train;

    @Override
    public Integer call() throws Exception {
        Threads.configure(train.threads);
        TrainResult result = Pretraining.run(new PretrainRequest(corpus, out, tokenizer, context, layers, dModel, heads,
                train.settings(), resume, train.stopAt, init, architecture.architecture()), System.out);
        System.out.printf("checkpoint=%s%nmetrics=%s%nchart=%s%n", result.checkpoint(), result.metrics(),
                result.lossChart());
        System.out.printf("val_loss=%.4f%n", result.valLoss());
        return 0;
    }
}
