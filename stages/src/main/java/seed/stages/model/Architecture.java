package seed.stages.model;

/**
 * The architecture choices of a model built from scratch, beside its size (context, layers, width, heads): the
 * family and the Llama family's options. GPT-2 ignores the Llama-only fields.
 *
 * @param family    GPT-2 (Seed's default) or the Llama family
 * @param kvHeads   key/value heads for grouped-query attention (0 = as many as query heads)
 * @param ffn       MLP hidden width (0 = the family's default)
 * @param ropeTheta RoPE base (Llama; 0 = 10000)
 */
public record Architecture(Family family, int kvHeads, int ffn, double ropeTheta) {

    /** GPT-2, Seed's default. */
    public static final Architecture GPT2 = new Architecture(Family.GPT2, 0, 0, 0);

    public Architecture {
        family = family == null ? Family.GPT2 : family;
        if (family == Family.GPT2 && (kvHeads != 0 || ropeTheta != 0)) {
            throw new IllegalArgumentException("--kv-heads and --rope-theta are Llama options; add --arch llama");
        }
    }

    /** The configuration of a model of this architecture and size. */
    public GptConfig config(int vocabSize, int context, int layers, int dModel, int heads) {
        if (family == Family.GPT2) {
            return new GptConfig(vocabSize, context, layers, dModel, heads, false, GptConfig.Activation.GELU,
                    Family.GPT2, 0, ffn, 0, 0, false, 0);
        }
        return new GptConfig(vocabSize, context, layers, dModel, heads, false, GptConfig.Activation.GELU, family,
                kvHeads, ffn, 0, ropeTheta, false, 1e-5);
    }
}
