package seed.stages.train;

/**
 * One batch of next-token examples in host memory: inputs and targets (B x T, row-major) and, for SFT, a mask of the
 * target positions that count in the loss (null = every position counts).
 */
public record Batch(int size, int length, long[] inputs, long[] targets, float[] lossMask) {

    /** Number of target tokens that count in the loss. */
    public long countedTokens() {
        if (lossMask == null) {
            return (long) size * length;
        }
        long n = 0;
        for (float m : lossMask) {
            n += m > 0 ? 1 : 0;
        }
        return n;
    }
}
