package seed.stages.cli;

import java.util.List;
import picocli.CommandLine.Option;
import seed.stages.model.LoraSettings;

/**
 * The LoRA flags of the training commands (sft, reward train, rlhf, bench train): {@code --lora-rank R} trains
 * low-rank adapters on the targeted projections with the base frozen; 0 (default) trains every weight.
 */
public final class LoraOptions {

    @Option(names = "--lora-rank", description = "Train LoRA adapters of this rank instead of all weights (0 = off, "
            + "the default). Llama family.")
    int rank = 0;

    @Option(names = "--lora-alpha", description = "LoRA scale numerator: the update is (alpha / rank) B A "
            + "(default 2 x rank).")
    double alpha = 0;

    @Option(names = "--lora-dropout", description = "Dropout on the adapters' input while training (default 0).")
    double dropout = 0;

    @Option(names = "--lora-targets", split = ",", description = "Projections with adapters (default: "
            + "q,k,v,o,gate,up,down; full names such as q_proj work too).")
    List<String> targets = List.of("q", "k", "v", "o", "gate", "up", "down");

    @Option(names = "--lora-modules-to-save", split = ",", description = "Whole modules that train beside the "
            + "adapters (PEFT's modules_to_save), e.g. embed_tokens,lm_head when the tokenizer has tokens the base "
            + "never trained (Seed's chat markers).")
    List<String> modulesToSave = List.of();

    @Option(names = "--lora-rslora", description = "Rank-stabilised scaling alpha / sqrt(rank).")
    boolean rsLora = false;

    /** The adapters asked for, or null when {@code --lora-rank} is 0. */
    public LoraSettings settings() {
        return rank == 0 ? null : new LoraSettings(rank, alpha, dropout, targets, rsLora, modulesToSave);
    }
}
