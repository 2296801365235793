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

    /**
     * CPU time at one moment: the JVM's and each thread group's (ns), each PostgreSQL process's (ms, by pid) and what
     * each process is (its application name, else its backend type: checkpointer, walwriter, autovacuum worker ...).
     */
    record Sample(long jvmNanos, Map<String, Long> threadGroupNanos, Map<Integer, Long> postgresMillis,
                  Map<Integer, String> postgresRoles) {
    }

    /**
     * Which part of this JVM a thread belongs to: the ingester, the producer (the benchmark's sending thread and the
     * producer's I/O thread), the embedded broker, or other.
     */
    static String group(String thread) {
        if (thread.startsWith("seed-ingester")) {
            return "ingester_threads";
        }
        // the ingester's Kafka clients: the consumer's heartbeat / background thread and the dead-letter producer's I/O
        if (thread.startsWith("kafka-coordinator-heartbeat-thread") || thread.startsWith("consumer_background_thread")
                || thread.startsWith("kafka-producer-network-thread | seed-ingester")) {
            return "ingester_kafka_threads";
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
            if (info != null && internalGroup(info.getThreadName()) == null) { // those are counted from /proc below
                long ns = Math.max(0, threads.getThreadCpuTime(info.getThreadId()));
                groups.merge(group(info.getThreadName()), ns, Long::sum);
            }
        }
        groups.putAll(jvmInternal());
        Map<Integer, String> roles = new HashMap<>();
        return new Sample(os.getProcessCpuTime(), groups, postgres(roles), roles);
    }

    /**
     * The JVM's own native threads, which {@code ThreadMXBean} does not list (GC workers, the JIT compilers, the VM
     * thread), by their Linux thread names in {@code /proc/self/task}: gc_threads, jit_threads, vm_threads. Empty
     * where {@code /proc} is not there. Without these, "jvm" minus the named groups was CPU nobody could place.
     */
    static Map<String, Long> jvmInternal() {
        Map<String, Long> out = new java.util.TreeMap<>();
        ProcessCpu.byThread(ProcessHandle.current().pid(), CpuMeter::internalGroup)
                .forEach((group, ms) -> out.put(group, Math.round(ms * 1_000_000)));
        return out;
    }

    /**
     * A PostgreSQL process's group by its application name or backend type: the ingester's writer and lookup
     * connections (they name themselves), background writing (checkpointer, walwriter, background writer),
     * autovacuum, and other (the API's connections, this meter's own query, the launcher processes).
     */
    static String postgresGroup(String role) {
        if (role == null) {
            return "other";
        }
        if (role.startsWith("seed-ingester-")) {
            return role.substring("seed-".length()).replace('-', '_');
        }
        return switch (role) {
            case "checkpointer", "walwriter", "background writer" -> "wal_and_checkpoints";
            case "autovacuum worker", "autovacuum launcher" -> "autovacuum";
            default -> "other";
        };
    }

    /** The group of a JVM-internal native thread by its (15-character) Linux name, or null for any other thread. */
    static String internalGroup(String comm) {
        if (comm.startsWith("GC Thread") || comm.startsWith("G1 ")) {
            return "gc_threads";
        }
        if (comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre")) {
            return "jit_threads";
        }
        if (comm.equals("VM Thread") || comm.startsWith("VM Periodic")) {
            return "vm_threads";
        }
        return null;
    }

    /** CPU ms of each PostgreSQL process (backends and background workers), empty when not readable here. */
    private Map<Integer, Long> postgres(Map<Integer, String> roles) {
        Map<Integer, Long> out = new HashMap<>();
        try (Connection c = owner.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pid, coalesce(nullif(application_name, ''), backend_type, 'unknown')"
                     + " FROM pg_stat_activity")) {
            while (rs.next()) {
                int pid = rs.getInt(1);
                roles.put(pid, rs.getString(2));
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
     * Prints cpu_us_per_ranking_{jvm,<each thread group>,unattributed,postgres,total} for {@code rows} between two samples (a process that
     * started in between counts from zero; one that ended is missed, so PostgreSQL's figure is a lower bound).
     */
    static void print(java.io.PrintWriter out, String label, Sample a, Sample b, long rows) {
        out.printf("%scpu_us_per_ranking_jvm=%.1f%n", label, (b.jvmNanos() - a.jvmNanos()) / 1e3 / rows);
        // threads that ended in between are missed: the groups are lower bounds, the JVM total is exact
        long named = 0;
        for (var e : b.threadGroupNanos().entrySet()) {
            long ns = e.getValue() - a.threadGroupNanos().getOrDefault(e.getKey(), 0L);
            named += ns;
            out.printf("%scpu_us_per_ranking_%s=%.1f%n", label, e.getKey(), ns / 1e3 / rows);
        }
        // what no group holds: threads that ended during the run (their CPU is in the JVM total only)
        out.printf("%scpu_us_per_ranking_unattributed=%.1f%n", label, (b.jvmNanos() - a.jvmNanos() - named) / 1e3 / rows);
        if (!b.postgresMillis().isEmpty()) {
            long ms = 0;
            for (var e : b.postgresMillis().entrySet()) {
                ms += e.getValue() - a.postgresMillis().getOrDefault(e.getKey(), 0L);
            }
            double pg = ms * 1e3 / rows;
            out.printf("%scpu_us_per_ranking_postgres=%.1f%n", label, pg);
            Map<String, Long> byRole = new java.util.TreeMap<>();
            for (var e : b.postgresMillis().entrySet()) {
                byRole.merge(postgresGroup(b.postgresRoles().get(e.getKey())),
                        e.getValue() - a.postgresMillis().getOrDefault(e.getKey(), 0L), Long::sum);
            }
            byRole.forEach((role, roleMs) -> out.printf("%scpu_us_per_ranking_postgres_%s=%.1f%n", label, role,
                    roleMs * 1e3 / rows));
            // the budget on N cores is N * 1e6 / rate: 100k rankings/s on 2 cores allows 20 us in all. The JIT's
            // share is a warm-up cost that a longer run spreads thinner, so the total is printed with and without it.
            double total = (b.jvmNanos() - a.jvmNanos()) / 1e3 / rows + pg;
            double jit = (b.threadGroupNanos().getOrDefault("jit_threads", 0L)
                    - a.threadGroupNanos().getOrDefault("jit_threads", 0L)) / 1e3 / rows;
            out.printf("%scpu_us_per_ranking_total=%.1f%n", label, total);
            out.printf("%scpu_us_per_ranking_total_without_jit=%.1f%n", label, total - jit);
        }
    }
}
