package seed.stages.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.model.Gpt;
import seed.stages.model.HuggingFace;
import seed.stages.tokenizer.Tokenizer;

/**
 * {@code seed export --model DIR --format hf --out DIR}: a checkpoint as a Hugging Face GPT-2 folder that Python tools
 * load as it is ({@code GPT2LMHeadModel.from_pretrained(DIR)}); see {@link HuggingFace}. {@code seed pretrain --init}
 * and {@code seed sft --from-hf} read such folders back.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export a checkpoint in Hugging Face's GPT-2 layout (config.json, model.safetensors, tokenizer.json).")
public final class ExportCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "Checkpoint or run folder.") Path model;
    @Option(names = "--format", description = "Only 'hf' (default: ${DEFAULT-VALUE}).") String format = "hf";
    @Option(names = "--out", required = true, description = "Folder to write.") Path out;

    @Override
    public Integer call() throws Exception {
        if (!format.equals("hf")) {
            throw new IllegalArgumentException("--format must be 'hf', got '" + format + "'");
        }
        Tokenizer tokenizer = Checkpoints.loadTokenizer(model);
        try (Gpt gpt = Checkpoints.loadModel(model)) {
            HuggingFace.export(gpt, tokenizer, out);
            System.out.printf("exported=%s%nmodel=%s%n", out, gpt.config().describe());
        }
        return 0;
    }
}
