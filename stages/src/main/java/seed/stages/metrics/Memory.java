package seed.stages.metrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Peak resident memory of this process (Linux VmHWM), for the benchmarks' {@code peak_rss_mib=} line. */
public final class Memory {

    private Memory() {
    }

    /** Peak resident set size in MiB, or -1 where /proc is not available. */
    public static long peakRssMib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
