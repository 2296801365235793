package seed.stages.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;

/** Corpora for tokenizer tests: a generated Shakespeare-like text (always there) and the shared tinyshakespeare. */
final class TestCorpus {

    private static final String[] WORDS = {
            "the", "and", "to", "of", "my", "I", "you", "that", "in", "is", "not", "with", "me", "it", "be", "your",
            "his", "this", "but", "for", "have", "thou", "thy", "what", "shall", "will", "lord", "king", "love",
            "good", "sir", "come", "let", "now", "upon", "death", "heaven", "noble", "gentle", "speak", "hath",
            "doth", "art", "night", "blood", "crown", "sweet", "madam", "brother", "father", "Romeo", "Juliet",
            "Warwick", "Gloucester", "o'er", "'tis", "we'll", "I'll", "don't", "café", "naïve", "Zürich"};
    private static final String[] NAMES = {"KING HENRY", "ROMEO", "JULIET", "MENENIUS", "First Citizen", "GLOUCESTER"};
    private static final String[] PUNCT = {",", ".", ";", ":", "!", "?", "--", ""};

    private TestCorpus() {
    }

    /** About {@code chars} characters of play-like text, the same every time. */
    static String shakespeareLike(int chars) {
        Random r = new Random(20261123L);
        StringBuilder sb = new StringBuilder(chars + 200);
        while (sb.length() < chars) {
            sb.append(NAMES[r.nextInt(NAMES.length)]).append(":\n");
            int lines = 1 + r.nextInt(4);
            for (int l = 0; l < lines; l++) {
                int words = 4 + r.nextInt(8);
                for (int w = 0; w < words; w++) {
                    String word = WORDS[r.nextInt(WORDS.length)];
                    sb.append(w == 0 ? Character.toUpperCase(word.charAt(0)) + word.substring(1) : word);
                    sb.append(w + 1 < words ? (r.nextInt(6) == 0 ? PUNCT[r.nextInt(4)] + " " : " ") : PUNCT[r.nextInt(PUNCT.length)]);
                }
                if (r.nextInt(25) == 0) {
                    sb.append(" Act ").append(r.nextInt(5) + 1).append(", scene ").append(r.nextInt(7) + 1).append('.');
                }
                sb.append('\n');
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** The shared tinyshakespeare.txt, found by walking up from the working directory (module or repo root). */
    static Optional<Path> tinyShakespeare() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path p = dir.resolve("shared/data/tinyshakespeare.txt");
            if (Files.isRegularFile(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
