package seed.stages.model;

/**
 * The closed set of architecture families Seed's model implements; each names its {@link FamilySpec}, the one file
 * that describes it (parameters, initialisation, program constants, Hugging Face names). Written into
 * {@code config.json} by name; older files without it are GPT-2.
 */
public enum Family {
    /** GPT-2: learned positions, LayerNorm, fused qkv with biases, GELU MLP (Seed's own models are this). */
    GPT2,
    /** Llama and its relatives (Mistral, Qwen2, SmolLM): RoPE, RMSNorm, SwiGLU, grouped-query attention. */
    LLAMA;

    /** The description of this family. */
    public FamilySpec spec() {
        return switch (this) {
            case GPT2 -> Gpt2Family.INSTANCE;
            case LLAMA -> LlamaFamily.INSTANCE;
        };
    }

    /** The family of a {@code --arch} value or a Hugging Face {@code model_type}, with an error naming the choices. */
    public static Family parse(String name) {
        return switch (name.toLowerCase()) {
            case "gpt2" -> GPT2;
            case "llama", "mistral", "qwen2" -> LLAMA;
            default -> throw new IllegalArgumentException("unknown architecture '" + name
                    + "': Seed implements gpt2 and the Llama family (llama, mistral, qwen2)");
        };
    }
}
