package seed.annotation.bench;

import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import javax.sql.DataSource;

/**
 * CPU time spent during a benchmark run, split by who spent it: this JVM and its thread groups (ingester, producer,
 * embedded broker, other), and PostgreSQL's processes (read from /proc, so only for a server on this
 * Linux host). CPU per ranking holds up on a loaded machine where rates do not, and it tells where the time goes.
 */
final class CpuMeter {

    /** CPU time at one moment: the JVM's and each thread group's (ns), each PostgreSQL process's (ms, by pid). */
    record Sample(long jvmNanos, Map<String, Long> threadGroupNanos, Map<Integer, Long> postgresMillis) {
    }

    /**
     * Which part of this JVM a thread belongs to: the ingester, the producer (the benchmark's sending thread and the
     * producer's I/O thread), the embedded broker, or other.
     */
    static String group(String thread) {
        if (thread.startsWith("seed-ingester")) {
            return "ingester_threads";
        }
        if (thread.equals("main") || thread.startsWith("kafka-producer-network-thread | seed-rankings")) {
            return "producer_threads";
        }
        if (brokerThread(thread)) {
            return "broker_threads";
        }
        return "other_threads";
    }

    /**
     * Whether a thread is the embedded Kafka broker's (network, request handlers, coordinators, reapers). The
     * prefixes fit Linux's 15-character thread names too, so {@link ProcessCpu#threadGroup} uses this on /proc's.
     */
    static boolean brokerThread(String thread) {
        for (String p : BROKER_PREFIXES) {
            if (thread.startsWith(p)) {
                return true;
            }
        }
        return false;
    }

    private static final String[] BROKER_PREFIXES = {"data-plane", "kafka-", "group-coordina", "quorum-", "ExpirationReap",
        "raft", "LogDirFailureHa", "share-", "transaction", "broker-", "controller-", "executor-", "metrics-meter"};

    private final DataSource owner;

    /** @param owner a connection that may list every PostgreSQL process (the schema owner) */
    CpuMeter(DataSource owner) {
        this.owner = owner;
    }

    Sample sample() {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        var threads = ManagementFactory.getThreadMXBean();
        Map<String, Long> groups = new java.util.TreeMap<>();
        for (var info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info != null) {
                long ns = Math.max(0, threads.getThreadCpuTime(info.getThreadId()));
                groups.merge(group(info.getThreadName()), ns, Long::sum);
            }
        }
        return new Sample(os.getProcessCpuTime(), groups, postgres());
    }

    /** CPU ms of each PostgreSQL process (backends and background workers), empty when not readable here. */
    private Map<Integer, Long> postgres() {
        Map<Integer, Long> out = new HashMap<>();
        try (Connection c = owner.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pid FROM pg_stat_activity")) {
            while (rs.next()) {
                int pid = rs.getInt(1);
                if (!"postgres".equals(ProcessCpu.command(pid))) {
                    continue; // not on this host, ended, or a server on another host: this pid is some other process
                }
                double ms = ProcessCpu.ms(pid);
                if (ms >= 0) {
                    out.put(pid, Math.round(ms));
                }
            }
        } catch (Exception e) {
            System.err.println("PostgreSQL's CPU time not measured: " + e);
            return Map.of();
        }
        return out;
    }

    /**
     * Prints cpu_us_per_ranking_{jvm,ingester_threads,postgres} for {@code rows} between two samples (a process that
     * started in between counts from zero; one that ended is missed, so PostgreSQL's figure is a lower bound).
     */
    static void print(java.io.PrintWriter out, String label, Sample a, Sample b, long rows) {
        out.printf("%scpu_us_per_ranking_jvm=%.1f%n", label, (b.jvmNanos() - a.jvmNanos()) / 1e3 / rows);
        // threads that ended in between are missed: the groups are lower bounds, the JVM total is exact
        for (var e : b.threadGroupNanos().entrySet()) {
            out.printf("%scpu_us_per_ranking_%s=%.1f%n", label, e.getKey(),
                    (e.getValue() - a.threadGroupNanos().getOrDefault(e.getKey(), 0L)) / 1e3 / rows);
        }
        if (!b.postgresMillis().isEmpty()) {
            long ms = 0;
            for (var e : b.postgresMillis().entrySet()) {
                ms += e.getValue() - a.postgresMillis().getOrDefault(e.getKey(), 0L);
            }
            out.printf("%scpu_us_per_ranking_postgres=%.1f%n", label, ms * 1e3 / rows);
        }
    }
}
