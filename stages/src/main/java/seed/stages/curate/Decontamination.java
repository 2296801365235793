package seed.stages.curate;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Decontamination: a document sharing any word n-gram (13 by default, as GPT-3 and datatrove's n-gram
 * decontamination) with a held-out or evaluation file is dropped, wherever the n-gram sits in the document, so an
 * evaluation item pasted into the middle of a long page is caught. Words are normalised as for deduplication
 * (case and punctuation ignored). Each string field of a JSONL evaluation line is an item of its own. An
 * evaluation item shorter than n words is indexed whole: a document containing
 * all its words in a row is dropped too.
 */
final class Decontamination {

    private final int n;
    private final LongIntMap grams = new LongIntMap(1 << 16);
    private final LongIntMap shortItems = new LongIntMap(16);
    private int shortestItem = Integer.MAX_VALUE;
    private final int minShortItem;

    Decontamination(int ngram, int minShortItem, List<Path> files, String split) throws IOException {
        this.n = ngram;
        this.minShortItem = minShortItem;
        if (n < 1) {
            throw new IllegalArgumentException("decontaminate_ngram must be positive, got " + n);
        }
        for (Path file : files) {
            for (Document d : Documents.readItems(file, split)) {
                index(Words.of(d.text()));
            }
        }
    }

    /** How many distinct n-grams the evaluation files gave. */
    int size() {
        return grams.size() + shortItems.size();
    }

    private void index(Words w) {
        if (w.normalCount >= n) {
            for (long h : w.shingles(n)) {
                grams.addKey(h);
            }
        } else if (w.normalCount >= minShortItem) {
            shortItems.addKey(w.shingles(w.normalCount)[0]);
            shortestItem = Math.min(shortestItem, w.normalCount);
        }
    }

    /** True when the document shares an n-gram (or a whole short item) with the evaluation files. */
    boolean contaminated(Words w) {
        if (grams.size() > 0 && w.normalCount >= n) {
            for (long h : w.shingles(n)) {
                if (grams.contains(h)) {
                    return true;
                }
            }
        }
        if (shortItems.size() > 0) {
            for (int len = shortestItem; len < n && len <= w.normalCount; len++) {
                for (long h : w.shingles(len)) {
                    if (shortItems.contains(h)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
