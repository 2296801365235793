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
 */
public record GptConfig(int vocabSize, int context, int layers, int dModel, int heads) {

    /** The benchmark shape of the design brief: 4 layers, d128, 4 heads, context 128, byte vocabulary. */
    public static GptConfig defaults(int vocabSize) {
        return new GptConfig(vocabSize, 128, 4, 128, 4);
    }

    public GptConfig {
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
        return (long) vocabSize * d + (long) context * d + layers * perBlock + 2 * d + (long) vocabSize * d;
    }

    /** A short human-readable description of the shape for error messages and logs. */
    public String describe() {
        return "vocab " + vocabSize + ", context " + context + ", " + layers + " layers, d-model " + dModel + ", "
                + heads + " heads";
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
