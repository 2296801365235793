package seed.stages.metrics;

import java.io.PrintStream;
import java.time.Duration;

/**
 * Periodic progress lines for long work: done/total, rate, ETA and whatever the caller adds, e.g.
 * {@code pretrain  step 120/300 (40%) | loss 2.4312 | 24.9k tok/s | ETA 0:41}. Prints at most every
 * {@code minIntervalMs} milliseconds, and always the first and last item, so logs stay readable in CI.
 */
public final class Progress {

    private final String label;
    private final long total;
    private final String unit;
    private final PrintStream out;
    private final long minIntervalNanos;
    private final long startNanos = System.nanoTime();
    private long startDone = -1;
    private long lastPrintNanos;

    public Progress(String label, long total, String unit, PrintStream out, long minIntervalMs) {
        this.label = label;
        this.total = total;
        this.unit = unit;
        this.out = out;
        this.minIntervalNanos = minIntervalMs * 1_000_000L;
    }

    /**
     * Reports that {@code done} of {@code total} items are finished. {@code unitsPerItem} converts items to the rate
     * unit (e.g. tokens per step); {@code details} is appended as is.
     */
    public void update(long done, double unitsPerItem, String details) {
        long now = System.nanoTime();
        if (startDone < 0) {
            startDone = done - 1;
        }
        boolean last = done >= total;
        if (!last && done != startDone + 1 && now - lastPrintNanos < minIntervalNanos) {
            return;
        }
        lastPrintNanos = now;
        double seconds = Math.max(1e-9, (now - startNanos) / 1e9);
        double itemsPerSecond = (done - startDone) / seconds;
        long remaining = itemsPerSecond > 0 ? (long) ((total - done) / itemsPerSecond) : 0;
        StringBuilder line = new StringBuilder()
                .append(String.format("%-9s %d/%d (%d%%)", label, done, total, total == 0 ? 100 : 100 * done / total));
        if (details != null && !details.isEmpty()) {
            line.append(" | ").append(details);
        }
        line.append(" | ").append(human(itemsPerSecond * unitsPerItem)).append(' ').append(unit).append("/s");
        line.append(" | ").append(last ? "took " + clock((long) seconds) : "ETA " + clock(remaining));
        out.println(line);
    }

    static String human(double value) {
        if (value >= 1e6) {
            return String.format("%.2fM", value / 1e6);
        }
        if (value >= 1e4) {
            return String.format("%.1fk", value / 1e3);
        }
        return String.format("%.1f", value);
    }

    static String clock(long seconds) {
        Duration d = Duration.ofSeconds(seconds);
        return d.toHours() > 0 ? String.format("%d:%02d:%02d", d.toHours(), d.toMinutesPart(), d.toSecondsPart())
                : String.format("%d:%02d", d.toMinutes(), d.toSecondsPart());
    }
}
