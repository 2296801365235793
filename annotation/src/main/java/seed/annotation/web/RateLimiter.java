package seed.annotation.web;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-key token buckets (key = client address or token hash): {@code perSecond} tokens refill continuously up to
 * {@code burst}. Small enough to keep here rather than pull a library for one map; the map is pruned of full
 * buckets when it grows, so a flood of distinct keys cannot exhaust memory.
 */
final class RateLimiter {

    private static final int PRUNE_AT = 100_000;

    private final double perSecond;
    private final double burst;
    private final ConcurrentHashMap<String, double[]> buckets = new ConcurrentHashMap<>();

    RateLimiter(double perSecond, double burst) {
        if (perSecond <= 0 || burst < 1) {
            throw new IllegalArgumentException("rate must be > 0 and burst >= 1, got " + perSecond + "/" + burst);
        }
        this.perSecond = perSecond;
        this.burst = burst;
    }

    /** Takes one token for the key; false when its bucket is empty (the caller answers 429). */
    boolean tryAcquire(String key) {
        if (buckets.size() > PRUNE_AT) {
            prune();
        }
        double now = System.nanoTime() / 1e9;
        double[] b = buckets.computeIfAbsent(key, k -> new double[] {burst, now});
        synchronized (b) {
            b[0] = Math.min(burst, b[0] + (now - b[1]) * perSecond);
            b[1] = now;
            if (b[0] >= 1) {
                b[0] -= 1;
                return true;
            }
            return false;
        }
    }

    /** Seconds until the key has a token again (for Retry-After), at least 1. */
    long retryAfterSeconds(String key) {
        double[] b = buckets.get(key);
        if (b == null) {
            return 1;
        }
        synchronized (b) {
            return Math.max(1, (long) Math.ceil((1 - b[0]) / perSecond));
        }
    }

    private void prune() {
        double now = System.nanoTime() / 1e9;
        buckets.entrySet().removeIf(e -> {
            double[] b = e.getValue();
            synchronized (b) {
                return b[0] + (now - b[1]) * perSecond >= burst;
            }
        });
    }
}
