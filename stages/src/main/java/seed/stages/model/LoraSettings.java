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
 */
public record LoraSettings(int rank, double alpha, double dropout, List<String> targets, boolean rsLora) {

    public LoraSettings {
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

    /** The multiplier of the adapters' product: alpha / r, or alpha / sqrt(r) with rsLoRA. */
    public double scale() {
        return rsLora ? alpha / Math.sqrt(rank) : alpha / rank;
    }
}
