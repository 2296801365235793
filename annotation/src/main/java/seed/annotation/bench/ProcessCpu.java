package seed.annotation.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * CPU time a process (and, optionally, its children) has used so far, from Linux's {@code /proc}: the benchmark
 * divides the difference over its measured phase by the submissions to get CPU milliseconds per submission for the
 * server JVM, the load generator and PostgreSQL. On a shared machine this figure moves far less than latency, so it
 * is what A/B comparisons of the request path lean on. -1 where {@code /proc} is not there.
 */
final class ProcessCpu {

    private static final double TICK_MS = 10.0; // USER_HZ is 100 on every Linux this runs on

    private ProcessCpu() {
    }

    /** utime + stime of one process, in ms; -1 if unknown. */
    static double ms(long pid) {
        long[] f = fields(pid);
        return f == null ? -1 : (f[0] + f[1]) * TICK_MS;
    }

    /**
     * The CPU of a process and its live children plus the children it already reaped (cutime + cstime), in ms: for
     * PostgreSQL's postmaster, every backend's work.
     */
    static double treeMs(long pid) {
        long[] f = fields(pid);
        if (f == null) {
            return -1;
        }
        double total = (f[0] + f[1] + f[2] + f[3]) * TICK_MS;
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                long child = Long.parseLong(name);
                long[] c = fields(child);
                if (c != null && c[4] == pid) {
                    total += (c[0] + c[1]) * TICK_MS;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return total;
    }

    /**
     * The process's CPU so far split by what its threads do, in ms, from {@code /proc/<pid>/task/*}/stat: thread
     * names (as Linux keeps them, 15 characters) are mapped to a few groups by {@link #threadGroup}. Empty when
     * {@code /proc} is not there. Threads that ended meanwhile drop out, so take the difference of two calls.
     */
    static java.util.Map<String, Double> byThreadGroup(long pid) {
        return byThread(pid, ProcessCpu::threadGroup);
    }

    /**
     * The process's CPU so far in ms per group of its threads, {@code group} mapping a Linux thread name to its
     * group (null: not counted), from {@code /proc/<pid>/task/*}/stat; empty when {@code /proc} is not there.
     */
    static java.util.Map<String, Double> byThread(long pid, java.util.function.Function<String, String> group) {
        java.util.Map<String, Double> ms = new java.util.TreeMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    String g = group.apply(stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
                    if (g == null) {
                        continue;
                    }
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
                    ms.merge(g, (Long.parseLong(f[11]) + Long.parseLong(f[12])) * TICK_MS, Double::sum);
                } catch (IOException | RuntimeException e) {
                    // the thread ended between the listing and the read
                }
            }
        } catch (IOException | RuntimeException e) {
            return java.util.Map.of();
        }
        return ms;
    }

    /**
     * The group of a server thread by its (truncated) name: jit (C1/C2 compilers), gc_vm (collector and VM threads),
     * http (Jetty), kafka_producer, kafka_broker (the in-process broker's network, request and coordinator threads),
     * wal_flusher, ingester, other.
     */
    static String threadGroup(String name) {
        if (name.contains("CompilerThre")) {
            return "jit";
        }
        if (name.startsWith("GC ") || name.startsWith("G1 ") || name.startsWith("VM ") || name.startsWith("ZGC")
                || name.startsWith("Z") && name.length() > 1 && Character.isUpperCase(name.charAt(1))
                || name.startsWith("PS ") || name.startsWith("Monitor Defl")) {
            return "gc_vm";
        }
        if (name.startsWith("JettyServerThre") || name.startsWith("qtp")) {
            return "http";
        }
        if (name.startsWith("kafka-producer-")) {
            return "kafka_producer";
        }
        if (name.startsWith("seed-wal-flushe")) {
            return "wal_flusher";
        }
        if (name.startsWith("seed-ingester") || name.startsWith("kafka-coordinat")) {
            return "ingester";
        }
        if (CpuMeter.brokerThread(name)) {
            return "kafka_broker";
        }
        return "other";
    }

    /** The postmaster's pid from {@code postmaster.pid} in a PostgreSQL data folder, or -1. */
    static long postmaster(Path pgData) {
        try {
            List<String> lines = Files.readAllLines(pgData.resolve("postmaster.pid"));
            return lines.isEmpty() ? -1 : Long.parseLong(lines.get(0).trim());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /** The process's command name (field 2 of proc(5)), or null when there is no such process here. */
    static String command(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** utime, stime, cutime, cstime (ticks) and ppid, or null. */
    private static long[] fields(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // the command name (field 2) may hold spaces: the fields after it start after the last ')'
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            // f[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17
            return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12]), Long.parseLong(f[13]), Long.parseLong(f[14]),
                    Long.parseLong(f[1])};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
