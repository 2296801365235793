package seed.stages.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import seed.stages.data.Truncation;
import seed.stages.sft.Sft;
import seed.stages.sft.SftRequest;
import seed.stages.train.Threads;
import seed.stages.train.TrainResult;

/** {@code seed sft}: stage 2 from the command line. The last line printed is {@code val_loss=<x>}. */
@Command(name = "sft", mixinStandardHelpOptions = true,
        description = "Stage 2: supervised fine-tuning on JSONL {\"prompt\", \"response\"} pairs or {\"messages\": "
                + "[{\"role\", \"content\"}, ...]} conversations (last message: the assistant's response); the loss counts "
                + "response tokens only. Examples longer than --max-length are cut by --truncate-prompt / "
                + "--truncate-response (TRL's meanings) or refused naming the line.")
public final class SftCommand implements Callable<Integer> {

    @Option(names = "--base", description = "Pretrained checkpoint or run folder (or --from-hf).")
    Path base;

    @Option(names = "--from-hf", description = "Start from a Hugging Face GPT-2 folder instead of --base "
            + "(imported into OUT/hf-import/).")
    Path fromHf;

    @Option(names = "--data", required = true, description = "JSONL file of {\"prompt\", \"response\"} or {\"messages\"}.")
    Path data;

    @Option(names = "--out", required = true, description = "Run folder: checkpoints, metrics.jsonl, report/.")
    Path out;

    @Mixin
    TruncationOptions truncation;

    @Option(names = "--resume", description = "SFT checkpoint or run folder to continue from.")
    Path resume;

    @Mixin
    TrainOptions train;

    @Mixin
    LoraOptions lora;

    @Override
    public Integer call() throws Exception {
        Truncation t = truncation.truncation();
        Threads.configure(train.threads);
        if ((base == null) == (fromHf == null)) {
            throw new IllegalArgumentException("give exactly one of --base and --from-hf");
        }
        if (fromHf != null) {
            base = seed.stages.model.HuggingFace.importAsCheckpoint(fromHf, out.resolve("hf-import"));
        }
        TrainResult result = Sft.run(new SftRequest(base, data, out, train.settings(), t, resume, train.stopAt,
                lora.settings()), System.out);
        System.out.printf("checkpoint=%s%nmetrics=%s%nchart=%s%n", result.checkpoint(), result.metrics(),
                result.lossChart());
        System.out.printf("val_loss=%.4f%n", result.valLoss());
        return 0;
    }
}
