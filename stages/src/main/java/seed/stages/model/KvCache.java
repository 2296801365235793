package seed.stages.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Keys and values of every layer for the tokens seen so far, so generating one more token costs one token's
 * forward pass instead of the whole sequence's. Lives in the caller's NDManager; one cache per batch of sequences.
 *
 * <p>Also tracks, per sequence, which cached positions are real tokens (left padding is masked) and the position id
 * the next token gets, so batches of prompts of different lengths generate correctly.
 */
public final class KvCache implements AutoCloseable {

    final NDManager manager;
    final NDArray[] keys;
    final NDArray[] values;
    /** real[b][j]: whether cached position j of sequence b is a real token (false = left padding). */
    boolean[][] real;
    /** Position id of the next token of each sequence (B). */
    long[] nextPosition;

    KvCache(NDManager manager, int layers, int batch) {
        this.manager = manager;
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        this.nextPosition = new long[batch];
    }

    /** Number of positions cached so far (padding included). */
    public long length() {
        return real == null ? 0 : real[0].length;
    }

    public int batchSize() {
        return nextPosition.length;
    }

    /** Frees the cached arrays (closes the manager the cache was created with). */
    @Override
    public void close() {
        manager.close();
    }
}
