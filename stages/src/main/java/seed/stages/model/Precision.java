package seed.stages.model;

/**
 * The number format of the model's matrix products. {@code BF16} is mixed precision as PyTorch's CPU autocast does
 * it: weights, AdamW moments, LayerNorm, softmax, residual stream and loss stay fp32; the inputs of every linear
 * layer and attention product are cast to bfloat16 (the CPU's AMX units run those ~6x faster than fp32) and the
 * casts are part of the autograd graph, so fp32 master weights receive the gradients. bf16 has fp32's exponent
 * range, so no loss scaling is needed.
 */
public enum Precision {
    FP32, BF16;

    /** Parses {@code fp32} / {@code bf16} (case-insensitive) with an error naming the accepted values. */
    public static Precision parse(String text) {
        for (Precision p : values()) {
            if (p.name().equalsIgnoreCase(text)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown precision '" + text + "': use fp32 or bf16");
    }
}
