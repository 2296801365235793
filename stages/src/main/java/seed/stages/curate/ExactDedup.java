package seed.stages.curate;

/**
 * Exact deduplication: a document whose normalised text (lower case, letters and digits, whitespace and punctuation
 * ignored) hashes like an earlier document's is dropped; the first copy stays.
 */
final class ExactDedup {

    private final LongIntMap seen = new LongIntMap(1 << 16);
    private final boolean enabled;

    ExactDedup(boolean enabled) {
        this.enabled = enabled;
    }

    /** The index of the earlier document this one repeats, or -1 (then it is remembered as document {@code index}). */
    int check(Words w, int index) {
        if (!enabled) {
            return -1;
        }
        long h = 0x243f6a8885a308d3L;
        for (int i = 0; i < w.normalCount; i++) {
            h = h * Hash64.FNV_PRIME + w.normal[i];
        }
        h = Hash64.mix(h ^ w.normalCount);
        int earlier = seen.get(h, -1);
        if (earlier < 0) {
            seen.put(h, index, -1);
        }
        return earlier;
    }
}
