package seed.stages.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;

/**
 * Keys and values of every layer for the tokens seen so far, so generating one more token costs one token's
 * forward pass instead of the whole sequence's. Lives in the caller's NDManager; one cache per batch of sequences.
 * Each layer's keys and values are (B, heads, T, head size), in the model's compute precision (bf16 halves them).
 *
 * <p>Also tracks, per sequence, which cached positions are real tokens (padding is masked) and the position id
 * the next token gets, so batches of prompts of different lengths generate correctly.
 *
 * <p>The content is held in one of two forms, converted on demand. With autograd recording (training through a
 * shared prefix), as DJL arrays that keep their autograd history, so gradients flow back from whatever attends to
 * them ({@link #select} shares one prompt's keys among several responses). Without it (generation, scoring), as
 * two libtorch lists of per-layer buffers sized to the context, which the model's program fills in place: a decode
 * step then passes two handles instead of converting 2 x layers arrays each way and re-copying the whole cache.
 */
public final class KvCache implements AutoCloseable {

    private static final float MASKED = -1e9f;

    final NDManager manager;
    /** Recorded form: per layer (B, H, T, hs), or null entries (nothing cached, or the content is in the lists). */
    final NDArray[] keys;
    final NDArray[] values;
    /** Fast form: libtorch lists of per-layer (B, H, context, hs) buffers whose first {@link #length()} are valid. */
    private IValue keyList;
    private IValue valueList;
    /**
     * Fast form, one-token steps only (see {@code Gpt}'s decode): (B * H) views of the buffers, which the program
     * makes on the first such step, and for a batch or bf16 the model's weights in decode layout, copied then. Both
     * go with the lists, so a cache never outlives the weights it copied unless the model is trained while it is in
     * use.
     */
    private IValue decodeWeights;
    private IValue decodeViews;
    /** Java memory shared with libtorch for {@code Gpt.nextLogits}'s steps (see {@link StepBuffers}). */
    private StepBuffers step;
    /** real[b][j]: whether cached position j of sequence b is a real token (false = padding). */
    private boolean[][] real;
    /** Whether any cached position is padding (if not, a one-token step needs no attention bias at all). */
    private boolean padded;
    /** Position id of the next token of each sequence (B). */
    private final long[] nextPosition;

    KvCache(NDManager manager, int layers, int batch) {
        this.manager = manager;
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        this.nextPosition = new long[batch];
        this.real = new boolean[batch][0];
    }

    /** Number of positions cached so far (padding included). */
    public long length() {
        return real[0].length;
    }

    public int batchSize() {
        return nextPosition.length;
    }

    /**
     * A cache of {@code rows.length} sequences whose row i is a view of this cache's row {@code rows[i]} (gathered,
     * differentiably), in {@code target}: one prompt prefix computed once and continued by several responses.
     */
    public KvCache select(NDManager target, int[] rows) {
        toArrays();
        KvCache out = new KvCache(target, keys.length, rows.length);
        long[] index = new long[rows.length];
        for (int i = 0; i < rows.length; i++) {
            index[i] = rows[i];
            out.real[i] = real[rows[i]].clone();
            out.nextPosition[i] = nextPosition[rows[i]];
        }
        out.padded = padded;
        NDArray idx = null;
        for (int layer = 0; layer < keys.length; layer++) {
            if (keys[layer] == null) {
                continue;
            }
            if (idx == null) {
                idx = target.create(index).toDevice(keys[layer].getDevice(), false);
            }
            out.keys[layer] = keys[layer].get(idx);
            out.values[layer] = values[layer].get(idx);
            out.keys[layer].attach(target);
            out.values[layer].attach(target);
        }
        return out;
    }

    /**
     * One cache holding rows of several caches, {@code rows.get(i)} of {@code sources.get(i)}, in that order, in
     * {@code target}: serving's continuous batching, where requests join and leave the running batch between decode
     * steps. Rows are aligned at their newest position (each row's next token goes to the same column), shorter ones
     * padded in front and masked, and columns that are padding in every row are dropped, so the merged length is the
     * longest row's real length. Without recording only (the keys and values are copied, no autograd history).
     *
     * <p>The result is in the fast form, buffers of the model's full {@code context}, so its first decode step
     * neither converts nor grows them; each source's rows are copied with one gather and one copy per layer (not per
     * row: this runs every time a request joins or leaves). The decode-layout weights of the first source that has
     * them move to the result (they depend on the model only, and copying them anew cost more than the merge), so
     * that source makes its own again if it decodes later. The sources are otherwise left usable and still owned
     * by the caller.
     */
    public static KvCache merge(NDManager target, java.util.List<KvCache> sources, java.util.List<int[]> rows,
            int context) {
        int batch = rows.stream().mapToInt(r -> r.length).sum();
        if (batch == 0) {
            throw new IllegalArgumentException("a merged cache needs at least one row");
        }
        int layers = sources.get(0).keys.length;
        int span = 0;
        for (int s = 0; s < sources.size(); s++) {
            KvCache source = sources.get(s);
            if (source.length() == 0) {
                throw new IllegalArgumentException("cannot merge an empty cache");
            }
            for (int r : rows.get(s)) {
                span = Math.max(span, source.realSpan(r));
            }
        }
        if (span > context) {
            throw new IllegalArgumentException("merged rows span " + span + " positions, more than the context ("
                    + context + ")");
        }
        KvCache out = new KvCache(target, layers, batch);
        int row = 0;
        for (int s = 0; s < sources.size(); s++) {
            KvCache source = sources.get(s);
            int length = (int) source.length();
            for (int r : rows.get(s)) {
                boolean[] real = new boolean[span];
                for (int j = 0; j < Math.min(span, length); j++) {
                    real[span - 1 - j] = source.real[r][length - 1 - j];
                }
                for (boolean isReal : real) {
                    out.padded |= !isReal;
                }
                out.real[row] = real;
                out.nextPosition[row] = source.nextPosition[r];
                row++;
            }
        }
        PtNDArray[] outKeys = new PtNDArray[layers];
        PtNDArray[] outValues = new PtNDArray[layers];
        try (NDManager temporary = target.newSubManager()) {
            NDArray[][] sourceKeys = new NDArray[sources.size()][];
            NDArray[][] sourceValues = new NDArray[sources.size()][];
            NDArray[] index = new NDArray[sources.size()];
            for (int s = 0; s < sources.size(); s++) {
                KvCache source = sources.get(s);
                sourceKeys[s] = source.layerArrays(temporary, true);
                sourceValues[s] = source.layerArrays(temporary, false);
                int[] r = rows.get(s);
                boolean identity = r.length == source.batchSize();
                for (int i = 0; i < r.length && identity; i++) {
                    identity = r[i] == i;
                }
                index[s] = identity ? null : temporary.create(java.util.Arrays.stream(r).asLongStream().toArray())
                        .toDevice(sourceKeys[s][0].getDevice(), false);
            }
            for (int layer = 0; layer < layers; layer++) {
                outKeys[layer] = mergeLayer(target, sources, rows, index, sourceKeys, layer, span, context);
                outValues[layer] = mergeLayer(target, sources, rows, index, sourceValues, layer, span, context);
            }
        }
        out.keyList = IValue.listFrom(outKeys);
        out.valueList = IValue.listFrom(outValues);
        for (int layer = 0; layer < layers; layer++) {
            outKeys[layer].close(); // the lists hold their own references to the tensors
            outValues[layer].close();
        }
        target.attachInternal("kv-cache-lists-" + System.identityHashCode(out), out::closeLists);
        for (KvCache source : sources) {
            if (source.decodeWeights != null) {
                out.decodeWeights = source.decodeWeights;
                source.decodeWeights = null;
                break;
            }
        }
        return out;
    }

    /**
     * The per-layer keys (or values) in whichever form they are, valid in their first {@link #length()} positions,
     * as arrays of {@code temporary} (views, no copies; the cache keeps its own form).
     */
    private NDArray[] layerArrays(NDManager temporary, boolean ofKeys) {
        if (keyList == null) {
            return ofKeys ? keys : values;
        }
        return (ofKeys ? keyList : valueList).toTensorArray((PtNDManager) temporary);
    }

    /** Cached positions of row {@code r} from its first real token to the newest one. */
    private int realSpan(int r) {
        int length = (int) length();
        for (int j = 0; j < length; j++) {
            if (real[r][j]) {
                return length - j;
            }
        }
        return 0;
    }

    /**
     * One layer's keys (or values) of {@link #merge}: a (B, H, context, hs) buffer of zeros in which each source's
     * rows, gathered at once, put their last {@code min(span, length)} positions so that they end at {@code span}.
     */
    private static PtNDArray mergeLayer(NDManager target, java.util.List<KvCache> sources,
            java.util.List<int[]> rows, NDArray[] index, NDArray[][] layerArrays, int layer, int span, int context) {
        NDArray first = layerArrays[0][layer];
        Shape shape = first.getShape();
        int batch = rows.stream().mapToInt(r -> r.length).sum();
        NDArray merged = target.zeros(new Shape(batch, shape.get(1), context, shape.get(3)), first.getDataType(),
                first.getDevice());
        int row = 0;
        for (int s = 0; s < sources.size(); s++) {
            int length = (int) sources.get(s).length();
            int keep = Math.min(span, length);
            int n = rows.get(s).length;
            if (n == 0) {
                continue;
            }
            NDArray all = layerArrays[s][layer];
            NDArray picked = index[s] == null ? all : all.get(index[s]);
            NDArray block = picked.get(new NDIndex(":, :, {}:{}", length - keep, length));
            merged.set(new NDIndex("{}:{}, :, {}:{}", row, row + n, span - keep, span), block);
            block.close();
            if (picked != all) {
                picked.close();
            }
            row += n;
        }
        return (PtNDArray) merged;
    }

    /**
     * Forgets every cached token but keeps the memory: the fast form's buffers and, if a decode step ran, the
     * decode-layout weights it copied. A generation's refill when the context is full clears and refills its cache
     * instead of making a new one, which saves re-copying the weights (~1 ms here, 1-2% of a 128-token
     * generation). The kept weights are the model's as of the first decode step, so clear a cache only within one
     * generation, not across training steps.
     */
    public void clear() {
        for (int layer = 0; layer < keys.length; layer++) {
            if (keys[layer] != null) {
                keys[layer].close();
                values[layer].close();
                keys[layer] = null;
                values[layer] = null;
            }
        }
        real = new boolean[nextPosition.length][0];
        java.util.Arrays.fill(nextPosition, 0);
        padded = false;
    }

    /**
     * The content in recorded form ({@link #keys}, {@link #values} filled, cut to the cached length); a no-op if it
     * is in that form already.
     */
    void toArrays() {
        if (keyList == null) {
            return;
        }
        PtNDArray[] k = keyList.toTensorArray((PtNDManager) manager);
        PtNDArray[] v = valueList.toTensorArray((PtNDManager) manager);
        NDIndex valid = new NDIndex(":, :, :{}", length());
        for (int layer = 0; layer < keys.length; layer++) {
            keys[layer] = k[layer].get(valid);
            values[layer] = v[layer].get(valid);
            k[layer].close();
            v[layer].close();
        }
        closeLists();
    }

    /** The content in fast form (two libtorch lists, empty when nothing is cached), for the model's program. */
    IValue[] lists() {
        if (keyList == null) {
            // the lists are native values outside DJL's arrays: the manager frees them when it closes
            manager.attachInternal("kv-cache-lists-" + System.identityHashCode(this), this::closeLists);
            if (keys[0] == null) {
                keyList = IValue.listFrom(new PtNDArray[0]);
                valueList = IValue.listFrom(new PtNDArray[0]);
            } else {
                keyList = IValue.listFrom(asTensors(keys));
                valueList = IValue.listFrom(asTensors(values));
                for (int layer = 0; layer < keys.length; layer++) {
                    keys[layer].close(); // the lists hold their own references to the tensors
                    values[layer].close();
                    keys[layer] = null;
                    values[layer] = null;
                }
            }
        }
        return new IValue[] {keyList, valueList};
    }

    private static PtNDArray[] asTensors(NDArray[] arrays) {
        PtNDArray[] out = new PtNDArray[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            out[i] = (PtNDArray) arrays[i];
        }
        return out;
    }

    /** The list the program's decode fills with views of the fast form's buffers ({@link #lists()} first). */
    IValue decodeViews() {
        if (decodeViews == null) {
            decodeViews = IValue.listFrom(new PtNDArray[0]);
        }
        return decodeViews;
    }

    /** The weights in decode layout, made by {@code make} on the first call ({@link #lists()} first). */
    IValue decodeWeights(java.util.function.Supplier<IValue> make) {
        if (decodeWeights == null) {
            decodeWeights = make.get();
        }
        return decodeWeights;
    }

    private synchronized void closeLists() {
        if (keyList != null) {
            keyList.close();
            valueList.close();
            keyList = null;
            valueList = null;
        }
        if (decodeWeights != null) {
            decodeWeights.close();
            decodeWeights = null;
        }
        if (decodeViews != null) {
            decodeViews.close();
            decodeViews = null;
        }
    }
    /**
     * Books {@code fresh} new tokens per sequence (padding where {@code mask} (B*t, row-major) is 0; null = all real)
     * and returns their position ids (B, t) and the additive attention bias over cached + new keys (B, 1, t, total),
     * or a null bias when no padding is cached or new and either one token comes (it may see every key) or nothing
     * was cached (the attention kernel's own causal rule). In the one-token case every sequence's new token sits at
     * position {@link #length()} before the call, and the position ids are null too unless {@code positionsWanted}.
     */
    NDArray[] advance(NDManager m, float[] mask, int batch, int fresh, int context, Device device,
            boolean positionsWanted) {
        int past = (int) length();
        long[] positions = book(mask, batch, fresh, context);
        if (fresh == 1 && !padded) {
            // the common decode step: no bias (no padding anywhere, so every position id equals the old length)
            return new NDArray[] {positionsWanted ? m.create(positions, new Shape(batch, 1)).toDevice(device, false)
                    : null, null};
        }
        NDArray pos = m.create(positions, new Shape(batch, fresh)).toDevice(device, false);
        if (past == 0 && !padded) {
            return new NDArray[] {pos, null}; // a prompt into an empty cache: causal, as without a cache
        }
        int total = past + fresh;
        float[] biasData = new float[batch * fresh * total];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < fresh; i++) {
                int row = (b * fresh + i) * total;
                for (int j = 0; j < total; j++) {
                    biasData[row + j] = j <= past + i && real[b][j] ? 0f : MASKED;
                }
            }
        }
        NDArray bias = m.create(biasData, new Shape(batch, 1, fresh, total)).toDevice(device, false);
        return new NDArray[] {pos, bias};
    }

    /** The bookkeeping of {@link #advance}: marks the new positions real or padding; returns their position ids. */
    private long[] book(float[] mask, int batch, int fresh, int context) {
        if (batch != nextPosition.length) {
            throw new IllegalArgumentException("cache holds " + nextPosition.length + " sequences, got " + batch);
        }
        int past = (int) length();
        int total = past + fresh;
        long[] positions = new long[batch * fresh];
        boolean[][] keyReal = new boolean[batch][total];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(real[b], 0, keyReal[b], 0, past);
            for (int i = 0; i < fresh; i++) {
                boolean isReal = mask == null || mask[b * fresh + i] > 0;
                keyReal[b][past + i] = isReal;
                padded |= !isReal;
                positions[b * fresh + i] = isReal ? nextPosition[b]++ : 0;
                if (nextPosition[b] > context) {
                    throw new IllegalArgumentException("sequence " + b + " is longer than the model's context ("
                            + context + " tokens)");
                }
            }
        }
        real = keyReal;
        return positions;
    }

    /**
     * Books one real token per sequence for {@code Gpt.nextLogits} and writes the step's inputs into the step
     * buffers (made on first use): returns {tokens (B, 1), positions (B, 1), bias (B, 1, 1, context), logits
     * (B, 1, vocab)} as libtorch values, positions and bias {@code empty} unless the cache holds padding.
     */
    IValue[] stepInputs(int[] tokens, int vocab, int context, NDArray empty) {
        if (step == null) {
            step = new StepBuffers(manager, tokens.length, vocab, context, empty);
            manager.attachInternal("kv-cache-step-" + System.identityHashCode(this), this::closeStep);
        }
        long[] positions = book(null, tokens.length, 1, context);
        for (int b = 0; b < tokens.length; b++) {
            step.tokens.put(b, tokens[b]);
        }
        if (!padded) {
            return new IValue[] {step.tokensValue, step.empty, step.empty, step.logitsValue};
        }
        int total = (int) length();
        for (int b = 0; b < tokens.length; b++) {
            step.positions.put(b, positions[b]);
            for (int j = 0; j < total; j++) { // a new token may see every real cached token and itself
                step.bias.put(b * context + j, real[b][j] ? 0f : MASKED);
            }
        }
        return new IValue[] {step.tokensValue, step.positionsValue, step.biasValue, step.logitsValue};
    }

    private synchronized void closeStep() {
        if (step != null) {
            step.close();
            step = null;
        }
    }

    /** The logits the last step wrote into the step buffers, one row per sequence. */
    float[][] stepLogits(int vocab) {
        float[][] rows = new float[nextPosition.length][vocab];
        for (int b = 0; b < rows.length; b++) {
            step.logits.get(b * vocab, rows[b]);
        }
        return rows;
    }

    /**
     * Java memory that libtorch tensors alias (DJL makes arrays of direct buffers without copying): a decode step
     * writes its token ids and reads its logits here, so it creates and converts no arrays. In a step of the
     * benchmark model those two cost ~100 us, a fifth of the step: the 3 MB of weights each step streams push
     * the code and data of every array creation out of the caches.
     */
    private static final class StepBuffers {

        final LongBuffer tokens;
        final LongBuffer positions;
        final FloatBuffer bias;
        final FloatBuffer logits;
        final IValue tokensValue;
        final IValue positionsValue;
        final IValue biasValue;
        final IValue logitsValue;
        final IValue empty;

        StepBuffers(NDManager manager, int batch, int vocab, int context, NDArray empty) {
            ByteBuffer t = direct(8L * batch);
            ByteBuffer p = direct(8L * batch);
            ByteBuffer b = direct(4L * batch * context);
            ByteBuffer l = direct(4L * batch * vocab);
            tokens = t.asLongBuffer();
            positions = p.asLongBuffer();
            bias = b.asFloatBuffer();
            logits = l.asFloatBuffer();
            tokensValue = IValue.from((PtNDArray) manager.create(t, new Shape(batch, 1), DataType.INT64));
            positionsValue = IValue.from((PtNDArray) manager.create(p, new Shape(batch, 1), DataType.INT64));
            biasValue = IValue.from((PtNDArray) manager.create(b, new Shape(batch, 1, 1, context),
                    DataType.FLOAT32));
            logitsValue = IValue.from((PtNDArray) manager.create(l, new Shape(batch, 1, vocab), DataType.FLOAT32));
            this.empty = IValue.from((PtNDArray) empty);
        }

        private static ByteBuffer direct(long bytes) {
            return ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.nativeOrder());
        }

        void close() {
            tokensValue.close();
            positionsValue.close();
            biasValue.close();
            logitsValue.close();
            empty.close();
        }
    }

    /** Frees the cached arrays (closes the manager the cache was created with). */
    @Override
    public void close() {
        closeLists();
        closeStep();
        manager.close();
    }
}
