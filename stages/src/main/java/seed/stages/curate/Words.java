package seed.stages.curate;

/**
 * One document cut into whitespace-separated words in a single pass over its characters, with what every rule
 * reads from a word: its extent, whether it has a letter, and a hash of its normalised form (lower case, letters
 * and digits only), so "The," and "the" hash alike. Words without a letter or digit (a lone "-" or "...") are
 * symbol words: they keep a hash of their raw characters for the repetition rules and are left out of the
 * normalised stream that exact dedup, MinHash and decontamination read.
 */
final class Words {

    /** Marks a symbol word's hash so it can never equal a normalised word's. */
    private static final long SYMBOL = 0x5bd1e9955bd1e995L;

    final String text;
    int count;
    int[] start = new int[64];
    int[] end = new int[64];
    long[] hash = new long[64];
    boolean[] alpha = new boolean[64];
    boolean[] symbol = new boolean[64];
    /** The normalised stream: hashes of the words that have a letter or digit, in order. */
    long[] normal = new long[64];
    int normalCount;

    private Words(String text) {
        this.text = text;
    }

    static Words of(String text) {
        Words w = new Words(text);
        w.scan();
        return w;
    }

    private void scan() {
        int n = text.length();
        int i = 0;
        while (i < n) {
            while (i < n && Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            if (i >= n) {
                break;
            }
            int from = i;
            long h = Hash64.FNV_OFFSET;
            long raw = Hash64.FNV_OFFSET;
            boolean letters = false;
            boolean alnum = false;
            char c;
            while (i < n && !Character.isWhitespace(c = text.charAt(i))) {
                raw = (raw ^ c) * Hash64.FNV_PRIME;
                if (c < 128) {
                    if (c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
                        h = (h ^ c) * Hash64.FNV_PRIME;
                        alnum = true;
                        letters |= c >= 'a';
                    } else if (c >= 'A' && c <= 'Z') {
                        h = (h ^ (c + 32)) * Hash64.FNV_PRIME;
                        alnum = true;
                        letters = true;
                    }
                } else if (Character.isLetterOrDigit(c)) {
                    h = (h ^ Character.toLowerCase(c)) * Hash64.FNV_PRIME;
                    alnum = true;
                    letters |= Character.isLetter(c);
                }
                i++;
            }
            add(from, i, alnum ? Hash64.mix(h) : Hash64.mix(raw) ^ SYMBOL, letters, !alnum);
        }
    }

    private void add(int from, int to, long h, boolean letters, boolean isSymbol) {
        if (count == start.length) {
            int size = count * 2;
            start = java.util.Arrays.copyOf(start, size);
            end = java.util.Arrays.copyOf(end, size);
            hash = java.util.Arrays.copyOf(hash, size);
            alpha = java.util.Arrays.copyOf(alpha, size);
            symbol = java.util.Arrays.copyOf(symbol, size);
        }
        start[count] = from;
        end[count] = to;
        hash[count] = h;
        alpha[count] = letters;
        symbol[count] = isSymbol;
        count++;
        if (!isSymbol) {
            if (normalCount == normal.length) {
                normal = java.util.Arrays.copyOf(normal, normalCount * 2);
            }
            normal[normalCount++] = h;
        }
    }

    int length(int word) {
        return end[word] - start[word];
    }

    /** Hash of one normalised word as {@link #of} computes it (keyword lists use this). */
    static long normalisedHash(String word) {
        Words w = of(word);
        return w.normalCount == 1 ? w.normal[0] : 0;
    }

    /**
     * Hashes of every window of {@code n} consecutive normalised words (a rolling polynomial, then mixed); a stream
     * shorter than {@code n} gives one hash of all its words, so short documents still have a fingerprint.
     */
    long[] shingles(int n) {
        int m = normalCount;
        if (m == 0) {
            return new long[0];
        }
        if (m < n) {
            long h = 0;
            for (int i = 0; i < m; i++) {
                h = h * Hash64.FNV_PRIME + normal[i];
            }
            return new long[] {Hash64.mix(h)};
        }
        long[] out = new long[m - n + 1];
        long power = 1;
        for (int i = 0; i < n - 1; i++) {
            power *= Hash64.FNV_PRIME;
        }
        long h = 0;
        for (int i = 0; i < n; i++) {
            h = h * Hash64.FNV_PRIME + normal[i];
        }
        out[0] = Hash64.mix(h);
        for (int i = n; i < m; i++) {
            h = (h - normal[i - n] * power) * Hash64.FNV_PRIME + normal[i];
            out[i - n + 1] = Hash64.mix(h);
        }
        return out;
    }
}
