package seed.stages.curate;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Generated text with known properties for the curation tests: English-like prose and unrelated pseudo-words. */
final class CurateTextGen {

    static final String[] COMMON = ("the of and to in a is that for it as was with be by on not he this are or his "
            + "from at which but have an they you were her she there been one all we their river mountain city garden "
            + "winter history science music market language family morning window bridge letter station harbour "
            + "forest machine village season journey question answer reason measured carefully quickly quietly "
            + "ancient modern simple common several different important walked wrote built opened carried followed "
            + "remembered discovered explained returned painter teacher doctor farmer sailor writer engineer "
            + "kitchen library hospital theatre museum island valley desert meadow castle tower street").split(" ");

    private final SplittableRandom random;
    private final List<String> vocabulary = new ArrayList<>();

    CurateTextGen(long seed) {
        random = new SplittableRandom(seed);
        String[] syllables = "ka lo mi ne ru sa ti vo pe da ghi bre sto lan mor fen qui zar tol wen".split(" ");
        for (int i = 0; i < 20_000; i++) {
            int n = 2 + random.nextInt(2);
            StringBuilder w = new StringBuilder();
            for (int j = 0; j < n; j++) {
                w.append(syllables[random.nextInt(syllables.length)]);
            }
            vocabulary.add(w.toString());
        }
    }

    /** {@code n} words drawn from 20,000 pseudo-words: two such texts share almost no 5-gram. */
    List<String> pseudoWords(int n) {
        List<String> words = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            words.add(vocabulary.get(random.nextInt(vocabulary.size())));
        }
        return words;
    }

    String pseudoWord() {
        return vocabulary.get(random.nextInt(vocabulary.size()));
    }

    int nextInt(int bound) {
        return random.nextInt(bound);
    }

    /** Prose that passes every Gopher and C4 rule: sentences of common words, several per line. */
    String prose(int lines) {
        StringBuilder sb = new StringBuilder();
        for (int l = 0; l < lines; l++) {
            int sentences = 2 + random.nextInt(2);
            for (int s = 0; s < sentences; s++) {
                int words = 7 + random.nextInt(8);
                for (int w = 0; w < words; w++) {
                    String word = w % 3 == 1 ? COMMON[random.nextInt(12)] : COMMON[random.nextInt(COMMON.length)];
                    sb.append(w == 0 ? Character.toUpperCase(word.charAt(0)) + word.substring(1) : word);
                    sb.append(w == words - 1 ? (s == sentences - 1 ? "." : ". ") : " ");
                }
            }
            sb.append('\n');
        }
        return sb.toString().strip();
    }
}
