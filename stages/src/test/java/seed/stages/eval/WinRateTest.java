package seed.stages.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The win rate counts ties as halves, and its bootstrap interval covers the truth and narrows with more prompts. */
class WinRateTest {

    @Test
    void winsTiesAndLosses() {
        WinRate w = WinRate.of(new double[] {2, 1, 0, 5}, new double[] {1, 1, 3, 4}, 1000, 1);
        assertEquals(4, w.prompts());
        assertEquals((1 + 0.5 + 0 + 1) / 4, w.rate(), 1e-12);
        assertTrue(w.low() <= w.rate() && w.rate() <= w.high(), w.toString());
        assertEquals(w, WinRate.of(new double[] {2, 1, 0, 5}, new double[] {1, 1, 3, 4}, 1000, 1), "reproducible");
    }

    @Test
    void theIntervalCoversTheTrueRateAndNarrowsWithMorePrompts() {
        SplittableRandom random = new SplittableRandom(3);
        double width = Double.MAX_VALUE;
        for (int n : new int[] {50, 800}) {
            double[] a = new double[n];
            double[] b = new double[n];
            for (int i = 0; i < n; i++) { // the candidate wins with probability 0.7
                a[i] = random.nextDouble() < 0.7 ? 1 : -1;
                b[i] = 0;
            }
            WinRate w = WinRate.of(a, b, 2000, 7);
            assertTrue(w.low() < 0.7 && 0.7 < w.high(), w.toString());
            assertTrue(w.high() - w.low() < width, "narrower with more prompts: " + w);
            width = w.high() - w.low();
        }
    }

    @Test
    void mismatchedScoresAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> WinRate.of(new double[2], new double[3], 10, 1));
    }
}
