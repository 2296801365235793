package seed.stages.model;

/**
 * The hyper-parameters of the transformer, and nothing else: a plain record with defaults, as in nanoGPT.
 * Saved as {@code config.json} in every checkpoint so a checkpoint is self-describing. One record for every
 * {@link Family}: the fields a family does not use keep their defaults (GPT-2 has no RoPE; Llama no GELU).
 *
 * @param vocabSize number of token ids (the tokenizer's vocabulary, specials included)
 * @param context   maximum sequence length (GPT-2: learned position embeddings; Llama: RoPE, any length up to this)
 * @param layers    number of transformer blocks
 * @param dModel    width of the residual stream
 * @param heads     query heads
 * @param tiedEmbeddings the output head reuses the token embedding matrix (GPT-2); false = a separate head (default)
 * @param activation GPT-2's MLP non-linearity: exact GELU (default) or GPT-2's tanh approximation
 * @param family    the architecture: {@link Family#GPT2} (default, and what older config.json files mean) or
 *                  {@link Family#LLAMA} (Llama, Mistral, Qwen2, SmolLM)
 * @param kvHeads   key/value heads (grouped-query attention when fewer than {@code heads}; 0 = {@code heads})
 * @param ffn       the MLP's hidden width (0 = the family's default: 4 x dModel for GPT-2, Llama's
 *                  8/3 x dModel rounded up to a multiple of 64)
 * @param headDim   width of one head (0 = dModel / heads)
 * @param ropeTheta RoPE's base (Llama; 0 = 10000)
 * @param qkvBias   q, k and v projections have biases (Qwen2); Llama has none. GPT-2 always has biases.
 * @param normEps   the epsilon of LayerNorm (GPT-2) or RMSNorm (Llama); 0 = 1e-5
 */
public record GptConfig(int vocabSize, int context, int layers, int dModel, int heads, boolean tiedEmbeddings,
        Activation activation, Family family, int kvHeads, int ffn, int headDim, double ropeTheta, boolean qkvBias,
        double normEps) {

    /** The MLP's GELU: exact (erf, Seed's default) or the tanh approximation GPT-2 was trained with ("gelu_new"). */
    public enum Activation { GELU, GELU_TANH }

    /** Seed's own shape: untied head, exact GELU (config.json files written before the GPT-2 options read as this). */
    public GptConfig(int vocabSize, int context, int layers, int dModel, int heads) {
        this(vocabSize, context, layers, dModel, heads, false, Activation.GELU);
    }

    /** A GPT-2 model with the given options. */
    public GptConfig(int vocabSize, int context, int layers, int dModel, int heads, boolean tiedEmbeddings,
            Activation activation) {
        this(vocabSize, context, layers, dModel, heads, tiedEmbeddings, activation, Family.GPT2, 0, 0, 0, 0, false, 0);
    }

    /**
     * A Llama-family model (untied head, no biases, RoPE base 10000, RMSNorm eps 1e-5): {@code kvHeads} key/value
     * heads, MLP width {@code ffn} (0 = Llama's default for {@code dModel}).
     */
    public static GptConfig llama(int vocabSize, int context, int layers, int dModel, int heads, int kvHeads, int ffn) {
        return new GptConfig(vocabSize, context, layers, dModel, heads, false, Activation.GELU, Family.LLAMA, kvHeads,
                ffn, 0, 10000, false, 1e-5);
    }

    /** The benchmark shape of the design brief: 4 layers, d128, 4 heads, context 128, byte vocabulary. */
    public static GptConfig defaults(int vocabSize) {
        return new GptConfig(vocabSize, 128, 4, 128, 4);
    }

    public GptConfig {
        activation = activation == null ? Activation.GELU : activation; // absent from older config.json files
        family = family == null ? Family.GPT2 : family;
        kvHeads = kvHeads == 0 ? heads : kvHeads;
        headDim = headDim == 0 && heads > 0 ? dModel / heads : headDim;
        ffn = ffn == 0 ? (family == Family.GPT2 ? 4 * dModel : llamaFfn(dModel)) : ffn;
        ropeTheta = ropeTheta == 0 ? 10000 : ropeTheta;
        normEps = normEps == 0 ? 1e-5 : normEps;
        require(vocabSize > 0, "vocab size must be positive, got " + vocabSize);
        require(context > 0, "context must be positive, got " + context);
        require(layers > 0, "layers must be positive, got " + layers);
        require(dModel > 0, "d-model must be positive, got " + dModel);
        require(heads > 0, "heads must be positive, got " + heads);
        require(kvHeads > 0 && heads % kvHeads == 0, "kv-heads (" + kvHeads + ") must divide heads (" + heads + ")");
        require(ffn > 0, "ffn must be positive, got " + ffn);
        if (family == Family.GPT2) {
            require(dModel % heads == 0, "heads (" + heads + ") must divide d-model (" + dModel + ")");
            require(kvHeads == heads, "GPT-2 has no grouped-query attention: kv-heads must equal heads");
            require(headDim == dModel / heads, "GPT-2's head width is d-model / heads");
        } else {
            require(headDim > 0 && headDim % 2 == 0, "head width must be even for rotary embeddings, got " + headDim);
        }
    }

    /** Llama's MLP width rule: 2/3 of 4 x dModel, rounded up to a multiple of 64 (e.g. 4096 -> 11008). */
    static int llamaFfn(int dModel) {
        int width = (int) Math.ceil(8.0 * dModel / 3.0);
        return (width + 63) / 64 * 64;
    }

    public int headSize() {
        return headDim;
    }

    /** Number of trainable scalars, for logs and for comparing with other trainers. */
    public long parameterCount() {
        long total = 0;
        for (long[] shape : family.spec().parameterShapes(this).values()) {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            total += n;
        }
        return total;
    }

    /** The same shape with GPT-2's options (tied embeddings, tanh GELU), as Hugging Face's GPT-2 checkpoints use. */
    public GptConfig gpt2Style() {
        return new GptConfig(vocabSize, context, layers, dModel, heads, true, Activation.GELU_TANH);
    }

    /** This configuration with another context length (e.g. a Hugging Face model trained at a shorter context). */
    public GptConfig withContext(int newContext) {
        return new GptConfig(vocabSize, newContext, layers, dModel, heads, tiedEmbeddings, activation, family, kvHeads,
                ffn, headDim, ropeTheta, qkvBias, normEps);
    }

    /** A short human-readable description of the shape for error messages and logs. */
    public String describe() {
        String shape = family.name().toLowerCase() + ", vocab " + vocabSize + ", context " + context + ", " + layers
                + " layers, d-model " + dModel + ", " + heads + " heads";
        if (family == Family.GPT2) {
            return shape + (tiedEmbeddings ? ", tied embeddings" : "")
                    + (activation == Activation.GELU_TANH ? ", tanh GELU" : "");
        }
        return shape + (kvHeads != heads ? ", " + kvHeads + " kv-heads" : "") + ", ffn " + ffn + ", head width "
                + headDim + ", rope theta " + ropeTheta + (qkvBias ? ", qkv biases" : "")
                + (tiedEmbeddings ? ", tied embeddings" : "");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
