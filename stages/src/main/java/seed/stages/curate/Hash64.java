package seed.stages.curate;

/**
 * The one cheap 64-bit hash of the curation stage: FNV-1a over characters, finished with MurmurHash3's fmix64 so
 * that the high bits (which MinHash compares) are well mixed. Cryptographic strength is not needed here: a collision
 * can only merge two documents' fingerprints, at odds of about n^2 / 2^65.
 */
final class Hash64 {

    static final long FNV_OFFSET = 0xcbf29ce484222325L;
    static final long FNV_PRIME = 0x100000001b3L;

    private Hash64() {
    }

    /** MurmurHash3's 64-bit finaliser: every input bit affects every output bit. */
    static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    /** Hash of {@code text[from, to)} exactly as written. */
    static long chars(CharSequence text, int from, int to) {
        long h = FNV_OFFSET;
        for (int i = from; i < to; i++) {
            h = (h ^ text.charAt(i)) * FNV_PRIME;
        }
        return mix(h);
    }
}
