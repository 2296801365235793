package seed.stages.cli;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.eval.Evaluation;
import seed.stages.eval.TokenScorer;
import seed.stages.model.Gpt;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.Threads;

/**
 * {@code seed eval}: log-likelihood multiple choice and perplexity, in process or through a running
 * {@code seed serve} ({@code --url}): the two give the same numbers.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a model: multiple choice (--task JSONL {context, choices, label}) prints accuracy= "
                + "accuracy_norm=; perplexity (--text FILE) prints perplexity=. --url scores through seed serve.")
public final class EvalCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "Checkpoint or model folder (its tokenizer and context; "
            + "with --url only those).")
    Path model;

    @Option(names = "--task", description = "Multiple-choice JSONL: {\"context\", \"choices\": [...], \"label\"}.")
    Path task;

    @Option(names = "--text", description = "Held-out text for perplexity.")
    Path text;

    @Option(names = "--url", description = "Score through this OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
    URI url;

    @Option(names = "--served-model-name", description = "The model name to send with --url.")
    String servedName;

    @Option(names = "--api-key", description = "Bearer token for --url.")
    String apiKey;

    @Option(names = "--context", description = "Window in tokens (default: the model's context).")
    int contextOverride = 0;

    @Option(names = "--threads", description = "libtorch intra-op threads (default: ${DEFAULT-VALUE}).")
    int threads = 1;

    @Override
    public Integer call() throws Exception {
        if (task == null && text == null) {
            throw new IllegalArgumentException("give --task FILE and/or --text FILE");
        }
        Threads.configure(threads);
        Tokenizer tokenizer = Checkpoints.loadTokenizer(model);
        Gpt gpt = url == null ? Checkpoints.loadModel(model) : null;
        int context = contextOverride > 0 ? contextOverride
                : gpt != null ? gpt.config().context() : Checkpoints.readConfig(Checkpoints.resolve(model)).context();
        try {
            TokenScorer scorer = url == null ? TokenScorer.inProcess(gpt) : TokenScorer.server(url, servedName, apiKey);
            if (task != null) {
                Evaluation.MultipleChoice mc = Evaluation.multipleChoice(scorer, tokenizer, Evaluation.readTask(task),
                        context);
                System.out.printf("items=%d%naccuracy=%.4f%naccuracy_norm=%.4f%ncorrect_loglikelihood=%.6f%n",
                        mc.items(), mc.accuracy(), mc.accuracyNorm(), mc.correctLogLikelihood());
            }
            if (text != null) {
                Evaluation.Perplexity p = Evaluation.perplexity(scorer, tokenizer, Files.readString(text), context);
                System.out.printf("tokens=%d%nnll=%.6f%nperplexity=%.6f%n", p.tokens(), p.negativeLogLikelihood(),
                        p.perplexity());
            }
        } finally {
            if (gpt != null) {
                gpt.close();
            }
        }
        return 0;
    }
}
