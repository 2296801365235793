package seed.stages.curate;

import java.util.SplittableRandom;

/**
 * Near-duplicate removal by MinHash LSH (Broder 1997; FineWeb's settings by default: word 5-grams, 14 bands of 8
 * hashes). Each document's set of word 5-grams is summarised by 112 minimum hash values; two documents whose
 * signatures agree on all 8 values of any band are candidates, which happens with probability
 * 1 - (1 - J^8)^14 for Jaccard similarity J (0.5 at J ~ 0.72, 0.92 at J = 0.8, 0.9995 at J = 0.9). Documents are
 * seen in order and a document that shares a band with an earlier kept document is dropped, so each cluster keeps
 * its first member. FineWeb drops every candidate; here a candidate is dropped only when the two signatures agree on
 * at least {@code minhash_verify} of their 112 values (an estimate of J with standard deviation ~0.04 at J = 0.8), so
 * pairs below J ~ 0.75 that happen to share a band are kept: on the test's mix precision at J >= 0.8 is 0.97 with
 * a recall of 0.99 (without the check ~0.9 precision). {@code minhash_verify=0} is FineWeb's behaviour exactly. Signatures of kept
 * documents stay in memory (4 x 112 bytes each) for this check.
 */
final class MinHashDedup {

    /**
     * @param ngram  words per shingle
     * @param bands  LSH bands
     * @param rows   hashes per band
     * @param seed   seed of the hash functions
     * @param verify fraction of equal signature values a band match must also have (0 = none, as FineWeb)
     */
    record Settings(boolean enabled, int ngram, int bands, int rows, long seed, double verify) {
        static Settings from(SettingValues v) {
            Settings s = new Settings(v.bool("minhash_dedup", true), v.integer("minhash_ngram", 5),
                    v.integer("minhash_bands", 14), v.integer("minhash_rows", 8), v.integer("minhash_seed", 1),
                    v.number("minhash_verify", 0.78));
            if (s.ngram < 1 || s.bands < 1 || s.rows < 1) {
                throw new IllegalArgumentException("minhash_ngram, minhash_bands and minhash_rows must be positive");
            }
            return s;
        }
    }

    private final Settings s;
    private final int[] multipliers;
    private final int[] offsets;
    private final long[] bandKeys;
    private final LongIntMap buckets = new LongIntMap(1 << 16);
    /** Signatures of kept documents, one after another, and each one's document index. */
    private int[] kept = new int[0];
    private int[] keptDoc = new int[16];
    private int keptCount;

    MinHashDedup(Settings settings) {
        this.s = settings;
        int k = s.bands() * s.rows();
        multipliers = new int[k];
        offsets = new int[k];
        SplittableRandom random = new SplittableRandom(s.seed());
        for (int i = 0; i < k; i++) {
            multipliers[i] = random.nextInt() | 1; // odd: x -> a x + b is a permutation of 32-bit values
            offsets[i] = random.nextInt();
        }
        bandKeys = new long[s.bands()];
    }

    /**
     * The signature of a set of shingle hashes: for each hash function the minimum value. 32-bit arithmetic (as
     * datatrove's default precision) so that the inner loop compiles to vector instructions on any x86-64 with AVX2.
     */
    int[] signature(long[] shingles) {
        int[] out = new int[multipliers.length];
        java.util.Arrays.fill(out, Integer.MAX_VALUE);
        int[] a = multipliers;
        int[] b = offsets;
        for (long shingle : shingles) {
            int x = (int) (shingle ^ (shingle >>> 32));
            for (int i = 0; i < out.length; i++) {
                out[i] = Math.min(out[i], x * a[i] + b[i]);
            }
        }
        return out;
    }

    /** The signature of the document last checked, remembered by {@link #keep} once the document is kept. */
    private int[] pending;

    /**
     * The index of the earlier kept document this one nearly repeats, or -1. As in {@link ExactDedup#check}, the
     * document is remembered only once it is kept ({@link #keep}).
     */
    int check(Words w) {
        pending = null;
        if (!s.enabled() || w.normalCount == 0) {
            return -1;
        }
        int[] signature = signature(w.shingles(s.ngram()));
        for (int b = 0; b < s.bands(); b++) {
            long h = b + 1;
            for (int r = 0; r < s.rows(); r++) {
                h = h * Hash64.FNV_PRIME + signature[b * s.rows() + r];
            }
            bandKeys[b] = Hash64.mix(h);
            int slot = buckets.get(bandKeys[b], -1);
            if (slot >= 0 && agreement(signature, slot) >= s.verify()) {
                return keptDoc[slot];
            }
        }
        pending = signature;
        return -1;
    }

    /** Remembers the document last checked (its signature and bands) as document {@code index}: it was kept. */
    void keep(int index) {
        if (pending == null) {
            return;
        }
        int[] signature = pending;
        pending = null;
        int k = signature.length;
        int slot = keptCount++;
        if (s.verify() > 0) {
            if ((long) keptCount * k > kept.length) {
                kept = java.util.Arrays.copyOf(kept, Math.max(k * 1024, kept.length * 2));
            }
            System.arraycopy(signature, 0, kept, slot * k, k);
        }
        if (slot == keptDoc.length) {
            keptDoc = java.util.Arrays.copyOf(keptDoc, slot * 2);
        }
        keptDoc[slot] = index;
        for (long key : bandKeys) {
            if (buckets.get(key, -1) < 0) {
                buckets.put(key, slot, -1);
            }
        }
    }

    /** The fraction of equal values in {@code signature} and the kept signature {@code slot}. */
    private double agreement(int[] signature, int slot) {
        if (s.verify() <= 0) {
            return 1;
        }
        int k = signature.length;
        int equal = 0;
        for (int i = 0; i < k; i++) {
            if (signature[i] == kept[slot * k + i]) {
                equal++;
            }
        }
        return (double) equal / k;
    }
}
