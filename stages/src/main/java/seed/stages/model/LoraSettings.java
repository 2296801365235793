package seed.stages.model;

import java.util.List;

/**
 * Low-rank adapters (LoRA, Hu et al. 2021) as PEFT defines them: on each targeted projection W (out, in) the model
 * computes {@code W x + (alpha / r) B A x} with A (r, in) random and B (out, r) zero at the start, so training starts
 * from the base model's function; only A and B train. rsLoRA scales by {@code alpha / sqrt(r)} instead.
 *
 * @param rank    r, the adapters' inner width
 * @param alpha   the scale's numerator (PEFT's {@code lora_alpha}; 0 = 2 x rank)
 * @param dropout dropout on the adapter path's input while training (PEFT's {@code lora_dropout})
 * @param targets the projections that get adapters, by module name (Llama: q_proj, k_proj, v_proj, o_proj,
 *                gate_proj, up_proj, down_proj; short forms q, k, v, o, gate, up, down are accepted)
 * @param rsLora  rank-stabilised scaling
 * @param modulesToSave whole modules that train beside the adapters (PEFT's {@code modules_to_save}), e.g.
 *                embed_tokens and lm_head when the tokenizer has special tokens the base never saw (Seed's chat
 *                markers): they are saved with the adapters and stay the base's in RL's reference
 */
public record LoraSettings(int rank, double alpha, double dropout, List<String> targets, boolean rsLora,
        List<String> modulesToSave) {

    /** Adapters only (no whole modules trained). */
    public LoraSettings(int rank, double alpha, double dropout, List<String> targets, boolean rsLora) {
        this(rank, alpha, dropout, targets, rsLora, List.of());
    }

    public LoraSettings {
        modulesToSave = modulesToSave == null ? List.of() : List.copyOf(modulesToSave);
        alpha = alpha == 0 ? 2.0 * rank : alpha;
        targets = List.copyOf(targets);
        if (rank <= 0) {
            throw new IllegalArgumentException("--lora-rank must be positive, got " + rank);
        }
        if (dropout < 0 || dropout >= 1) {
            throw new IllegalArgumentException("--lora-dropout must be in [0, 1), got " + dropout);
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("--lora-targets names no projection");
        }
    }

    /** Whether parameter {@code name} belongs to one of {@link #modulesToSave()} (e.g. model.embed_tokens.weight). */
    public boolean saves(String name) {
        String module = name.endsWith(".weight") || name.endsWith(".bias")
                ? name.substring(0, name.lastIndexOf('.')) : name;
        for (String m : modulesToSave) {
            if (module.equals(m) || module.endsWith("." + m)) {
                return true;
            }
        }
        return false;
    }

    /** The multiplier of the adapters' product: alpha / r, or alpha / sqrt(r) with rsLoRA. */
    public double scale() {
        return rsLora ? alpha / Math.sqrt(rank) : alpha / rank;
    }
}
