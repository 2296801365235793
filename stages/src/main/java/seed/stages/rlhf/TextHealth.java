package seed.stages.rlhf;

import java.util.HashSet;
import java.util.Set;

/**
 * Detects degenerate text, the usual face of reward hacking (design.md: a policy collapsed to one repeated character):
 * a long run of one character, or a text made mostly of repeats of the same few character trigrams.
 */
public final class TextHealth {

    private TextHealth() {
    }

    public static boolean degenerate(String text) {
        int run = 1;
        for (int i = 1; i < text.length(); i++) {
            run = text.charAt(i) == text.charAt(i - 1) ? run + 1 : 1;
            if (run >= 6) {
                return true;
            }
        }
        if (text.length() >= 16) {
            Set<String> grams = new HashSet<>();
            int total = text.length() - 2;
            for (int i = 0; i < total; i++) {
                grams.add(text.substring(i, i + 3));
            }
            return grams.size() < 0.4 * total;
        }
        return false;
    }
}
