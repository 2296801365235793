package seed.stages.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.model.GptConfig;
import seed.stages.model.HuggingFace;
import seed.stages.model.LoraSettings;
import seed.stages.model.ModelMemory;
import seed.stages.model.Precision;

/**
 * {@code seed import --from-hf DIR --out DIR}: a Hugging Face model folder (GPT-2, Llama, Mistral, Qwen2; one or
 * sharded safetensors files in fp32, bf16 or fp16) as a Seed checkpoint folder that {@code --base}, {@code --model}
 * and {@code --policy} take, written atomically. Exists so that a team's own open model enters Seed once, checked
 * (architecture options, keys, shapes, memory) and hashed, instead of at every stage. See {@link HuggingFace}.
 * Prints {@code name=value} lines: family, model, parameters, context, the memory estimate, checkpoint, sha256.
 */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = "Import a Hugging Face model folder (config.json, model.safetensors or shards + index, tokenizer "
                + "files) as a Seed checkpoint. Refuses, before reading weights, options Seed does not implement and "
                + "models whose training would not fit this machine's memory (estimated at --batch x --context).")
public final class ImportCommand implements Callable<Integer> {

    @Option(names = "--from-hf", required = true, description = "Hugging Face model folder.") Path fromHf;
    @Option(names = "--out", required = true, description = "Checkpoint folder to write (replaced atomically).") Path out;
    @Option(names = "--context", description = "Context Seed uses, at most the model's max_position_embeddings "
            + "(default: the model's own).") int context;
    @Option(names = "--batch", description = "Batch size the memory estimate assumes (default: ${DEFAULT-VALUE}).")
    int batch = 1;
    @Option(names = "--lora-rank", description = "Estimate memory for LoRA training at this rank on every "
            + "projection (0 = all weights train; default: ${DEFAULT-VALUE}).") int loraRank;
    @Option(names = "--precision", description = "Precision the memory estimate assumes: fp32 or bf16 "
            + "(default: ${DEFAULT-VALUE}).") String precision = "fp32";

    @Override
    public Integer call() throws Exception {
        refuseForeignFolder(out);
        LoraSettings lora = loraRank > 0
                ? new LoraSettings(loraRank, 0, 0, List.of("q", "k", "v", "o", "gate", "up", "down"), false) : null;
        HuggingFace.Imported imported = HuggingFace.importFolder(fromHf, out,
                new HuggingFace.LoadOptions(context, batch, Precision.parse(precision), lora));
        GptConfig c = imported.config();
        ModelMemory m = imported.memory();
        System.out.printf("family=%s%n", c.family().name().toLowerCase());
        System.out.printf("model=%s%n", c.describe());
        System.out.printf("parameters=%d%n", c.parameterCount());
        System.out.printf("context=%d%n", c.context());
        System.out.printf("memory_estimate=%s%n", m.describe());
        System.out.printf("memory_available=%s%n", ModelMemory.gib(ModelMemory.availableBytes()));
        System.out.printf("checkpoint=%s%n", imported.checkpoint());
        System.out.printf("sha256=%s%n", imported.sha256());
        return 0;
    }

    /** --out is replaced as a whole: only an empty folder or an earlier checkpoint may be, never other files. */
    static void refuseForeignFolder(Path out) throws java.io.IOException {
        if (!Files.isDirectory(out) || Files.exists(out.resolve(Checkpoints.MODEL))) {
            return;
        }
        try (Stream<Path> children = Files.list(out)) {
            if (children.findAny().isPresent()) {
                throw new IllegalArgumentException(out + " exists and is not a checkpoint folder; the import replaces "
                        + "--out as a whole, so give a new or empty folder");
            }
        }
    }
}
