package seed.stages.model;

/**
 * The hyper-parameters of the transformer, and nothing else: a plain record with defaults, as in nanoGPT.
 * Saved as {@code config.json} in every checkpoint so a checkpoint is self-describing.
 *
 * @param vocabSize number of token ids (the tokenizer's vocabulary, specials included)
 * @param context   maximum sequence length (learned position embeddings)
 * @param layers    number of transformer blocks
 * @param dModel    width of the residual stream
 * @param heads     attention heads; must divide dModel
 * @param tiedEmbeddings the output head reuses the token embedding matrix (GPT-2); false = a separate head (default)
 * @param activation the MLP's non-linearity: exact GELU (default) or GPT-2's tanh approximation
 */
public record GptConfig(int vocabSize, int context, int layers, int dModel, int heads, boolean tiedEmbeddings,
        Activation activation) {

    /** The MLP's GELU: exact (erf, Seed's default) or the tanh approximation GPT-2 was trained with ("gelu_new"). */
    public enum Activation { GELU, GELU_TANH }

    /** Seed's own shape: untied head, exact GELU (config.json files written before the GPT-2 options read as this). */
    public GptConfig(int vocabSize, int context, int layers, int dModel, int heads) {
        this(vocabSize, context, layers, dModel, heads, false, Activation.GELU);
    }

    /** The benchmark shape of the design brief: 4 layers, d128, 4 heads, context 128, byte vocabulary. */
    public static GptConfig defaults(int vocabSize) {
        return new GptConfig(vocabSize, 128, 4, 128, 4);
    }

    public GptConfig {
        activation = activation == null ? Activation.GELU : activation; // absent from older config.json files
        require(vocabSize > 0, "vocab size must be positive, got " + vocabSize);
        require(context > 0, "context must be positive, got " + context);
        require(layers > 0, "layers must be positive, got " + layers);
        require(dModel > 0, "d-model must be positive, got " + dModel);
        require(heads > 0 && dModel % heads == 0, "heads (" + heads + ") must divide d-model (" + dModel + ")");
    }

    public int headSize() {
        return dModel / heads;
    }

    /** Number of trainable scalars, for logs and for comparing with other trainers. */
    public long parameterCount() {
        long d = dModel;
        long perBlock = 2 * (2 * d) + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d);
        return (long) vocabSize * d + (long) context * d + layers * perBlock + 2 * d
                + (tiedEmbeddings ? 0 : (long) vocabSize * d);
    }

    /** The same shape with GPT-2's options (tied embeddings, tanh GELU), as Hugging Face's GPT-2 checkpoints use. */
    public GptConfig gpt2Style() {
        return new GptConfig(vocabSize, context, layers, dModel, heads, true, Activation.GELU_TANH);
    }

    /** A short human-readable description of the shape for error messages and logs. */
    public String describe() {
        return "vocab " + vocabSize + ", context " + context + ", " + layers + " layers, d-model " + dModel + ", "
                + heads + " heads" + (tiedEmbeddings ? ", tied embeddings" : "")
                + (activation == Activation.GELU_TANH ? ", tanh GELU" : "");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
