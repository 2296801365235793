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

    /** The hash of the document last checked, remembered by {@link #keep} once the document is kept. */
    private long pending;
    private boolean hasPending;

    /**
     * The index of the earlier kept document this one repeats, or -1. The document is not remembered yet: only a
     * kept one is ({@link #keep}), so a copy of a document that another rule dropped is judged on its own, and the
     * document a duplicate is said to repeat is always in the corpus.
     */
    int check(Words w) {
        hasPending = false;
        if (!enabled) {
            return -1;
        }
        long h = 0x243f6a8885a308d3L;
        for (int i = 0; i < w.normalCount; i++) {
            h = h * Hash64.FNV_PRIME + w.normal[i];
        }
        h = Hash64.mix(h ^ w.normalCount);
        int earlier = seen.get(h, -1);
        pending = h;
        hasPending = earlier < 0;
        return earlier;
    }

    /** Remembers the document last checked as document {@code index}: every other rule kept it. */
    void keep(int index) {
        if (hasPending) {
            seen.put(pending, index, -1);
            hasPending = false;
        }
    }
}
