package seed.stages.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.model.Gpt;
import seed.stages.model.HuggingFace;
import seed.stages.tokenizer.Tokenizer;

/**
 * {@code seed export --model DIR --format hf --out DIR [--dtype fp32|bf16]}: a checkpoint as a Hugging Face folder
 * that Python tools load as it is ({@code AutoModelForCausalLM.from_pretrained(DIR)}): GPT-2 models as
 * {@code GPT2LMHeadModel}, Llama-family models as {@code LlamaForCausalLM} ({@code Qwen2ForCausalLM} with q/k/v
 * biases), with the checkpoint's tokenizer files copied as they are; see {@link HuggingFace}. {@code seed import},
 * {@code seed pretrain --init} and {@code seed sft --from-hf} read such folders back.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export a checkpoint as a Hugging Face folder (config.json, model.safetensors, tokenizer files): "
                + "GPT2LMHeadModel, or LlamaForCausalLM / Qwen2ForCausalLM for the Llama family.")
public final class ExportCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "Checkpoint or run folder.") Path model;
    @Option(names = "--format", description = "Only 'hf' (default: ${DEFAULT-VALUE}).") String format = "hf";
    @Option(names = "--out", required = true, description = "Folder to write.") Path out;
    @Option(names = "--dtype", description = "Weights' type in model.safetensors: fp32 (exact) or bf16 (half the size, "
            + "rounded to nearest-even; default: ${DEFAULT-VALUE}).") String dtype = "fp32";
    @Option(names = "--merge", description = "A LoRA checkpoint: fold the adapters into the base (W + alpha/r B A, "
            + "PEFT's merge_and_unload) and write one whole model. Without it a LoRA checkpoint is refused: its folder "
            + "is already PEFT's adapter layout (adapter_config.json, adapter_model.safetensors).") boolean merge;

    @Override
    public Integer call() throws Exception {
        if (!format.equals("hf")) {
            throw new IllegalArgumentException("--format must be 'hf', got '" + format + "'");
        }
        SafeTensors.Dtype type = switch (dtype.toLowerCase()) {
            case "fp32" -> SafeTensors.Dtype.F32;
            case "bf16" -> SafeTensors.Dtype.BF16;
            default -> throw new IllegalArgumentException("--dtype must be fp32 or bf16, got '" + dtype + "'");
        };
        Tokenizer tokenizer = Checkpoints.loadTokenizer(model);
        try (Gpt gpt = Checkpoints.loadModel(model)) {
            if (gpt.lora() != null && !merge) {
                throw new IllegalArgumentException(model + " holds LoRA adapters on " + gpt.adapterBase() + ": add "
                        + "--merge to write the merged model (the folder itself is already PEFT's adapter layout)");
            }
            HuggingFace.export(gpt, tokenizer, out, type, Checkpoints.resolve(model));
            System.out.printf("exported=%s%nmodel=%s%ndtype=%s%n", out, gpt.config().describe(), dtype.toLowerCase());
        }
        return 0;
    }
}
