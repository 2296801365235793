package seed.stages.tokenizer;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;

/**
 * Trains a byte-level BPE vocabulary (GPT-2 style) from a text corpus, because DJL's HuggingFace binding can load
 * but not train tokenizers.
 *
 * <p>Efficiency: the corpus is streamed once to count its pre-tokenized words; merging then works on the unique
 * words only. Pair counts are updated incrementally (only the words that contain the merged pair are touched, found
 * through a pair -> words index) and the best pair comes from a priority queue with lazy invalidation.
 *
 * <p>Determinism: the best pair is the one with the highest count, ties broken by the smaller (left id, right id);
 * ids are assigned in merge order, so the same corpus always gives the same vocabulary and merges.
 */
public final class BpeTrainer {

    /** 256 byte tokens + the three special tokens: the smallest vocabulary a byte-level BPE can have. */
    public static final int MIN_VOCAB_SIZE = 256 + 3;
    /** Beyond this the embedding table alone dwarfs any model Seed trains; almost certainly a typo. */
    public static final int MAX_VOCAB_SIZE = 1 << 18;

    private static final long PROGRESS_EVERY_NANOS = 2_000_000_000L;
    private static final int READ_CHUNK_CHARS = 1 << 20;

    /** The trained model plus numbers about the corpus it was trained on. */
    public record Result(BpeModel model, long corpusBytes, long corpusTokens, int uniqueWords, double seconds) {
        /** Average UTF-8 bytes per token when the training corpus is encoded with the trained merges. */
        public double bytesPerToken() {
            return corpusTokens == 0 ? 0 : (double) corpusBytes / corpusTokens;
        }
    }

    private BpeTrainer() {
    }

    /** Checks a requested vocabulary size before any work is done. */
    public static void checkVocabSize(int vocabSize) {
        if (vocabSize < MIN_VOCAB_SIZE) {
            throw new IllegalArgumentException("vocab-size " + vocabSize + " is too small: a byte-level BPE needs at least "
                    + MIN_VOCAB_SIZE + " (256 bytes + 3 special tokens)");
        }
        if (vocabSize > MAX_VOCAB_SIZE) {
            throw new IllegalArgumentException("vocab-size " + vocabSize + " is absurdly large (max " + MAX_VOCAB_SIZE + ")");
        }
    }

    /** Trains on a UTF-8 text file; {@code progress} receives human-readable progress lines. */
    public static Result train(Path corpus, int vocabSize, Consumer<String> progress) throws IOException {
        checkVocabSize(vocabSize);
        long start = System.nanoTime();
        Map<String, long[]> counts = countWords(corpus, progress);
        long bytes = Files.size(corpus);
        return train(counts, bytes, vocabSize, progress, start);
    }

    /** Trains on text already in memory (tests, small inputs). */
    public static Result train(String text, int vocabSize, Consumer<String> progress) {
        checkVocabSize(vocabSize);
        long start = System.nanoTime();
        if (text.isEmpty()) {
            throw new IllegalArgumentException("corpus is empty");
        }
        Map<String, long[]> counts = new HashMap<>();
        addWords(text, counts);
        return train(counts, text.getBytes(StandardCharsets.UTF_8).length, vocabSize, progress, start);
    }

    /**
     * Streams the corpus and counts its GPT-2 pre-tokens. Chunks are cut only before a newline that follows a
     * letter or digit: the split regex always has a piece boundary there, so counts equal those of the whole text.
     */
    static Map<String, long[]> countWords(Path corpus, Consumer<String> progress) throws IOException {
        return countWords(corpus, progress, READ_CHUNK_CHARS);
    }

    /** As above with a given read size; tests use tiny chunks to exercise the cutting. */
    static Map<String, long[]> countWords(Path corpus, Consumer<String> progress, int chunkChars) throws IOException {
        if (!Files.exists(corpus)) {
            throw new NoSuchFileException(corpus.toString(), null, "corpus file does not exist");
        }
        if (!Files.isRegularFile(corpus) || !Files.isReadable(corpus)) {
            throw new IOException("corpus " + corpus + " is not a readable regular file");
        }
        long size = Files.size(corpus);
        if (size == 0) {
            throw new IOException("corpus " + corpus + " is empty");
        }
        Map<String, long[]> counts = new HashMap<>();
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        long charsRead = 0, lastReport = System.nanoTime(), start = lastReport;
        long[] bytesRead = {0};
        try (Reader in = new InputStreamReader(new FilterInputStream(Files.newInputStream(corpus)) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                bytesRead[0] += Math.max(n, 0);
                return n;
            }
        }, decoder)) {
            char[] buf = new char[chunkChars];
            StringBuilder pending = new StringBuilder();
            int n;
            while ((n = in.read(buf)) > 0) {
                charsRead += n;
                int scanFrom = Math.max(1, pending.length()); // older text was scanned already and had no cut
                pending.append(buf, 0, n);
                int cut = lastSafeCut(pending, scanFrom);
                if (cut > 0) {
                    addWords(pending.subSequence(0, cut), counts);
                    pending.delete(0, cut);
                }
                long now = System.nanoTime();
                if (now - lastReport > PROGRESS_EVERY_NANOS) {
                    lastReport = now;
                    double s = (now - start) / 1e9;
                    double rate = bytesRead[0] / s;
                    progress.accept(String.format(Locale.ROOT,
                            "bpe: counting words: %.1f/%.1f MB (%.0f%%), %.1f MB/s, %d unique words, eta %.0f s",
                            bytesRead[0] / 1e6, size / 1e6, 100.0 * bytesRead[0] / size, rate / 1e6, counts.size(),
                            (size - bytesRead[0]) / Math.max(rate, 1)));
                }
            }
            addWords(pending, counts);
        } catch (CharacterCodingException e) {
            throw new IOException("corpus " + corpus + " is not valid UTF-8 (after about " + charsRead + " characters): " + e, e);
        }
        return counts;
    }

    private static int lastSafeCut(CharSequence s, int from) {
        for (int i = s.length() - 1; i >= from; i--) {
            if (s.charAt(i) == '\n' && Character.isLetterOrDigit(s.charAt(i - 1))) {
                return i;
            }
        }
        return -1;
    }

    static void addWords(CharSequence text, Map<String, long[]> counts) {
        Matcher m = ByteLevel.SPLIT.matcher(text);
        while (m.find()) {
            counts.computeIfAbsent(m.group(), k -> new long[1])[0]++;
        }
    }

    /** Per pair: its weighted count and the words that (may) contain it. Stale word entries are harmless. */
    private static final class PairStat {
        long count;
        int[] words = new int[4];
        int size;
        int lastWord = -1;

        void addWord(int w) {
            if (lastWord == w) {
                return;
            }
            lastWord = w;
            if (size == words.length) {
                words = Arrays.copyOf(words, size * 2);
            }
            words[size++] = w;
        }
    }

    private record Candidate(long count, long pair) {
    }

    private static long pairKey(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    private static Result train(Map<String, long[]> counts, long corpusBytes, int vocabSize, Consumer<String> progress, long start) {
        // Words in a fixed order so that nothing downstream depends on hash iteration order.
        List<String> keys = new ArrayList<>(counts.keySet());
        keys.sort(null);
        int nWords = keys.size();
        int[][] words = new int[nWords][];
        long[] freq = new long[nWords];
        for (int w = 0; w < nWords; w++) {
            byte[] bytes = keys.get(w).getBytes(StandardCharsets.UTF_8);
            int[] symbols = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                symbols[i] = bytes[i] & 0xff;
            }
            words[w] = symbols;
            freq[w] = counts.get(keys.get(w))[0];
        }

        List<String> vocab = new ArrayList<>(vocabSize);
        Map<String, Integer> idOf = new HashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.add(String.valueOf(ByteLevel.charOf(b)));
            idOf.put(vocab.get(b), b);
        }
        for (String special : List.of(Tokenizer.END_OF_TEXT, Tokenizer.PROMPT, Tokenizer.RESPONSE)) {
            idOf.put(special, vocab.size());
            vocab.add(special);
        }

        Map<Long, PairStat> pairs = new HashMap<>();
        for (int w = 0; w < nWords; w++) {
            int[] s = words[w];
            for (int i = 0; i + 1 < s.length; i++) {
                PairStat st = pairs.computeIfAbsent(pairKey(s[i], s[i + 1]), k -> new PairStat());
                st.count += freq[w];
                st.addWord(w);
            }
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>((x, y) -> x.count != y.count
                ? Long.compare(y.count, x.count) : Long.compare(x.pair, y.pair));
        pairs.forEach((k, st) -> queue.add(new Candidate(st.count, k)));

        List<BpeModel.Merge> merges = new ArrayList<>();
        Set<Long> merged = new HashSet<>();
        int[] seen = new int[nWords];
        Arrays.fill(seen, -1);
        int targetMerges = vocabSize - vocab.size();
        long mergeStart = System.nanoTime(), lastReport = mergeStart;
        int step = 0;
        Set<Long> increased = new HashSet<>();
        while (vocab.size() < vocabSize) {
            Candidate top = queue.poll();
            if (top == null) {
                throw new IllegalArgumentException("corpus is too small for vocab-size " + vocabSize + ": it has no pair of"
                        + " adjacent tokens left to merge after " + merges.size() + " merges (vocabulary " + vocab.size()
                        + "); use a larger corpus or a vocab-size of at most " + vocab.size());
            }
            PairStat stat = pairs.get(top.pair);
            if (stat == null || stat.count <= 0) {
                continue;
            }
            if (stat.count != top.count) {
                queue.add(new Candidate(stat.count, top.pair)); // count fell since this entry was queued
                continue;
            }
            int a = (int) (top.pair >>> 32), b = (int) top.pair;
            String joined = vocab.get(a) + vocab.get(b);
            Integer existing = idOf.get(joined);
            int c;
            if (existing != null) {
                c = existing; // e.g. "ab"+"c" after "a"+"bc": same token string, HuggingFace maps both merges to it
            } else {
                c = vocab.size();
                vocab.add(joined);
                idOf.put(joined, c);
            }
            if (merged.add(top.pair)) {
                merges.add(new BpeModel.Merge(vocab.get(a), vocab.get(b)));
            }
            step++;
            increased.clear();
            applyMerge(a, b, c, stat, words, freq, seen, step, pairs, increased);
            pairs.remove(top.pair);
            for (long key : increased) {
                PairStat st = pairs.get(key);
                if (st != null && st.count > 0) {
                    queue.add(new Candidate(st.count, key));
                }
            }
            long now = System.nanoTime();
            if (now - lastReport > PROGRESS_EVERY_NANOS) {
                lastReport = now;
                int done = vocab.size() - (vocabSize - targetMerges);
                double rate = done / ((now - mergeStart) / 1e9);
                progress.accept(String.format(Locale.ROOT, "bpe: vocab %d/%d, merges %d (%.0f merges/s), eta %.1f s",
                        vocab.size(), vocabSize, merges.size(), rate, (vocabSize - vocab.size()) / Math.max(rate, 1e-9)));
            }
        }
        long tokens = 0;
        for (int w = 0; w < nWords; w++) {
            tokens += freq[w] * words[w].length;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        progress.accept(String.format(Locale.ROOT, "bpe: done: vocab %d, merges %d, %d unique words, %.2f s",
                vocab.size(), merges.size(), nWords, seconds));
        return new Result(new BpeModel(vocab, merges), corpusBytes, tokens, nWords, seconds);
    }

    /**
     * Replaces every (a, b) by c, left to right, in the words that contain it, and updates the pair counts by the
     * difference between each word's pairs before and after. Pairs whose count grew are reported in
     * {@code increased} so the caller queues them with their new count.
     */
    private static void applyMerge(int a, int b, int c, PairStat stat, int[][] words, long[] freq, int[] seen, int step,
                                   Map<Long, PairStat> pairs, Set<Long> increased) {
        int[] candidates = stat.words;
        int n = stat.size;
        for (int k = 0; k < n; k++) {
            int w = candidates[k];
            if (seen[w] == step) {
                continue;
            }
            seen[w] = step;
            int[] s = words[w];
            int[] out = new int[s.length];
            int len = 0;
            for (int i = 0; i < s.length; i++) {
                if (i + 1 < s.length && s[i] == a && s[i + 1] == b) {
                    out[len++] = c;
                    i++;
                } else {
                    out[len++] = s[i];
                }
            }
            if (len == s.length) {
                continue; // stale index entry: the word no longer holds this pair
            }
            int[] after = Arrays.copyOf(out, len);
            words[w] = after;
            long[] oldPairs = pairsOf(s), newPairs = pairsOf(after);
            // Walk both sorted lists: a pair's count changes by freq * (occurrences after - occurrences before).
            int i = 0, j = 0;
            while (i < oldPairs.length || j < newPairs.length) {
                long key;
                int delta = 0;
                if (j >= newPairs.length || (i < oldPairs.length && oldPairs[i] < newPairs[j])) {
                    key = oldPairs[i++];
                    delta = -1;
                } else if (i >= oldPairs.length || newPairs[j] < oldPairs[i]) {
                    key = newPairs[j++];
                    delta = 1;
                } else {
                    key = oldPairs[i++];
                    j++;
                }
                if (delta == 0) {
                    continue;
                }
                PairStat st = pairs.get(key);
                if (delta > 0) {
                    if (st == null) {
                        st = new PairStat();
                        pairs.put(key, st);
                    }
                    st.count += freq[w];
                    st.addWord(w);
                    increased.add(key);
                } else if (st != null) {
                    st.count -= freq[w];
                }
            }
        }
    }

    private static long[] pairsOf(int[] s) {
        if (s.length < 2) {
            return new long[0];
        }
        long[] p = new long[s.length - 1];
        for (int i = 0; i + 1 < s.length; i++) {
            p[i] = pairKey(s[i], s[i + 1]);
        }
        Arrays.sort(p);
        return p;
    }
}
