package seed.annotation.core;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Where a submission's time goes, phase by phase (issue 19: p50 48 ms at 1,000/s while every floor was a few ms).
 * Always on: a phase costs two {@code nanoTime} calls and one atomic increment. {@code seed bench submit} resets it
 * when its measured phase starts and prints each phase's percentiles as {@code submit_phase_<name>_p50_ms} lines.
 */
public final class SubmitPhases {

    /** The phases of one submission, in the order they happen. */
    public enum Phase {
        /** the client's send timestamp to the handler's start (network, Jetty's accept, parse and dispatch) */
        INBOUND,
        /** token, role, budgets, ingester state */
        AUTH,
        /** body to a Submission */
        PARSE,
        /** item lookup and the ranking rules */
        CHECK,
        /** the claim's UPDATE (asynchronous commit) */
        CLAIM,
        /** the producer's send call itself (encode, sign, append to a batch) */
        SEND,
        /** the WAL flush that makes the claim durable, from request to completion (runs beside the Kafka send) */
        WAL_FLUSH,
        /** producer send to the acks=all acknowledgement */
        KAFKA_ACK,
        /** the request thread blocked after the claim until both the flush and the ack are in */
        WAIT,
        /** the whole submit handler */
        HANDLER
    }

    private final Histogram[] phases = new Histogram[Phase.values().length];

    public SubmitPhases() {
        for (int i = 0; i < phases.length; i++) {
            phases[i] = new Histogram();
        }
    }

    public void record(Phase p, long nanos) {
        phases[p.ordinal()].record(nanos);
    }

    public Histogram histogram(Phase p) {
        return phases[p.ordinal()];
    }

    public void reset() {
        for (Histogram h : phases) {
            h.reset();
        }
    }

    /** {@code submit_phase_<name>_p50_ms}, {@code _p99_ms} and {@code _count} per phase that saw any sample. */
    public void print(PrintWriter out) {
        for (Phase p : Phase.values()) {
            phases[p.ordinal()].print(out, "submit_phase_" + p.name().toLowerCase(Locale.ROOT));
        }
    }

    /**
     * A lock-free latency histogram: 32 sub-buckets per power of two (within ~3% of the true value), nanoseconds up
     * to 2^62. Safe to record from any thread; percentiles read while recording are approximate.
     */
    public static final class Histogram {
        private static final int SUB = 5;
        private final AtomicLongArray counts = new AtomicLongArray(64 << SUB);

        public void record(long nanos) {
            counts.incrementAndGet(index(Math.max(1, nanos)));
        }

        private static int index(long v) {
            int e = 63 - Long.numberOfLeadingZeros(v);
            if (e < SUB) {
                return (int) v;
            }
            return ((e - SUB + 1) << SUB) + (int) ((v >>> (e - SUB)) & ((1 << SUB) - 1));
        }

        /** The middle of the bucket at {@code index}. */
        private static double value(int index) {
            if (index < (1 << SUB)) {
                return index;
            }
            int e = (index >>> SUB) + SUB - 1;
            long sub = index & ((1 << SUB) - 1);
            long lo = (1L << e) + (sub << (e - SUB));
            return lo + (1L << (e - SUB)) / 2.0;
        }

        public long count() {
            long n = 0;
            for (int i = 0; i < counts.length(); i++) {
                n += counts.get(i);
            }
            return n;
        }

        /** The q-quantile in ms (NaN when empty). */
        public double percentileMs(double q) {
            long n = count();
            if (n == 0) {
                return Double.NaN;
            }
            long rank = Math.max(1, (long) Math.ceil(q * n));
            long seen = 0;
            for (int i = 0; i < counts.length(); i++) {
                seen += counts.get(i);
                if (seen >= rank) {
                    return value(i) / 1e6;
                }
            }
            return value(counts.length() - 1) / 1e6;
        }

        public void reset() {
            for (int i = 0; i < counts.length(); i++) {
                counts.set(i, 0);
            }
        }

        /** {@code <prefix>_p50_ms}, {@code _p99_ms}, {@code _count}; nothing when empty. */
        public void print(PrintWriter out, String prefix) {
            long n = count();
            if (n > 0) {
                out.printf(Locale.ROOT, "%s_p50_ms=%.2f%n%s_p99_ms=%.2f%n%s_count=%d%n", prefix, percentileMs(0.5), prefix,
                        percentileMs(0.99), prefix, n);
            }
        }
    }
}
