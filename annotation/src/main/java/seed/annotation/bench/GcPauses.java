package seed.annotation.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.io.PrintWriter;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import seed.annotation.core.SubmitPhases;

/**
 * This JVM's stop-the-world GC pauses while the benchmark measures (each collection's duration from the JVM's own
 * notifications; the concurrent cycles of G1 and ZGC are left out, they do not stop requests), so the submit tail can
 * be set beside the pauses of the server's collector.
 */
final class GcPauses implements AutoCloseable {

    private final SubmitPhases.Histogram pauses = new SubmitPhases.Histogram();
    private final AtomicLong totalMs = new AtomicLong();
    private final AtomicLong maxMs = new AtomicLong();
    private final List<NotificationEmitter> emitters = new ArrayList<>();
    private final List<String> names = new ArrayList<>();
    private final NotificationListener listener = (n, handback) -> {
        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
            return;
        }
        var info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
        if (info.getGcName().contains("Cycles") || info.getGcName().contains("Concurrent")) {
            return;
        }
        long ms = info.getGcInfo().getDuration();
        pauses.record(ms * 1_000_000L);
        totalMs.addAndGet(ms);
        maxMs.accumulateAndGet(ms, Math::max);
    };

    GcPauses() {
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            names.add(gc.getName());
            if (gc instanceof NotificationEmitter e) {
                e.addNotificationListener(listener, null, null);
                emitters.add(e);
            }
        }
    }

    void reset() {
        pauses.reset();
        totalMs.set(0);
        maxMs.set(0);
    }

    /** server_gc=, server_gc_pauses=, server_gc_pause_p50/p99_ms=, _max_ms=, _total_ms= */
    void print(PrintWriter out) {
        out.printf(Locale.ROOT, "server_gc=%s%nserver_gc_pauses=%d%n", String.join(",", names).replace(' ', '_'),
                pauses.count());
        pauses.print(out, "server_gc_pause");
        out.printf(Locale.ROOT, "server_gc_pause_max_ms=%d%nserver_gc_pause_total_ms=%d%n", maxMs.get(), totalMs.get());
    }

    @Override
    public void close() {
        for (NotificationEmitter e : emitters) {
            try {
                e.removeNotificationListener(listener);
            } catch (javax.management.ListenerNotFoundException ignored) {
                // never added
            }
        }
    }
}
