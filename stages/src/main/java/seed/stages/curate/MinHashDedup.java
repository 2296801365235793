package seed.stages.curate;

import java.util.SplittableRandom;

/**
 * Near-duplicate removal by MinHash LSH (Broder 1997; FineWeb's settings by default: word 5-grams, 14 bands of 8
 * hashes). Each document's set of word 5-grams is summarised by 112 minimum hash values; two documents whose
 * signatures agree on all 8 values of any band are candidates, which happens with probability
 * 1 - (1 - J^8)^14 for Jaccard similarity J (0.5 at J ~ 0.72, 0.92 at J = 0.8, 0.9995 at J = 0.9). Documents are
 * seen in order and a document that shares a band with an earlier kept document is dropped, so each cluster keeps
 * its first member.
 */
final class MinHashDedup {

    /**
     * @param ngram  words per shingle
     * @param bands  LSH bands
     * @param rows   hashes per band
     * @param seed   seed of the hash functions
     */
    record Settings(boolean enabled, int ngram, int bands, int rows, long seed) {
        static Settings from(SettingValues v) {
            Settings s = new Settings(v.bool("minhash_dedup", true), v.integer("minhash_ngram", 5),
                    v.integer("minhash_bands", 14), v.integer("minhash_rows", 8), v.integer("minhash_seed", 1));
            if (s.ngram < 1 || s.bands < 1 || s.rows < 1) {
                throw new IllegalArgumentException("minhash_ngram, minhash_bands and minhash_rows must be positive");
            }
            return s;
        }
    }

    private final Settings s;
    private final long[] multipliers;
    private final long[] offsets;
    private final long[] mins;
    private final long[] bandKeys;
    private final LongIntMap buckets = new LongIntMap(1 << 16);

    MinHashDedup(Settings settings) {
        this.s = settings;
        int k = s.bands() * s.rows();
        multipliers = new long[k];
        offsets = new long[k];
        SplittableRandom random = new SplittableRandom(s.seed());
        for (int i = 0; i < k; i++) {
            multipliers[i] = random.nextLong() | 1; // odd: x -> a x + b is a permutation of 64-bit values
            offsets[i] = random.nextLong();
        }
        mins = new long[k];
        bandKeys = new long[s.bands()];
    }

    /** The signature of a set of shingle hashes: for each hash function the minimum (unsigned) value. */
    long[] signature(long[] shingles) {
        long[] out = new long[mins.length];
        java.util.Arrays.fill(out, Long.MAX_VALUE);
        for (long x : shingles) {
            for (int i = 0; i < out.length; i++) {
                long v = (x * multipliers[i] + offsets[i]) ^ Long.MIN_VALUE; // signed order of this = unsigned order
                if (v < out[i]) {
                    out[i] = v;
                }
            }
        }
        return out;
    }

    /** The index of the earlier kept document this one nearly repeats, or -1 (then its bands are remembered). */
    int check(Words w, int index) {
        if (!s.enabled() || w.normalCount == 0) {
            return -1;
        }
        long[] signature = signature(w.shingles(s.ngram()));
        for (int b = 0; b < s.bands(); b++) {
            long h = b + 1;
            for (int r = 0; r < s.rows(); r++) {
                h = h * Hash64.FNV_PRIME + signature[b * s.rows() + r];
            }
            bandKeys[b] = Hash64.mix(h);
            int earlier = buckets.get(bandKeys[b], -1);
            if (earlier >= 0) {
                return earlier;
            }
        }
        for (long key : bandKeys) {
            buckets.put(key, index, -1);
        }
        return -1;
    }
}
