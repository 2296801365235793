package seed.annotation.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The benchmarks at a tiny size, for what they print, never for their speed (the machine is shared): submit's load
 * generator runs in a separate JVM and the limits stand beside the figures; ingest prints PostgreSQL's own COPY of the
 * same rows from the same run.
 */
class BenchCommandsTest {

    @TempDir
    Path dir;

    @Test
    void submitRunsItsLoadGeneratorInItsOwnJvmAndPrintsTheLimits() {
        Map<String, String> v = run(new SubmitBenchCommand(), "--data-dir", dir.resolve("submit").toString(), "--rate", "50",
                "--seconds", "2", "--warmup-seconds", "1", "--clients", "4", "--annotators", "5");
        String pid = v.get("client_jvm").replaceAll(".*pid=(\\d+).*", "$1");
        assertNotEquals(Long.toString(ProcessHandle.current().pid()), pid, "the load generator is another process");
        assertEquals("100", v.get("submit_count"));
        assertEquals("0", v.get("submit_errors"));
        assertEquals("0", v.get("client_exit"));
        for (String k : new String[] {"submit_p99_ms", "server_cores", "server_heap_max_mb", "client_heap_max_mb", "clients",
                "server_limits", "server_kafka", "server_postgres", "limit_claim_p99_ms", "limit_kafka_ack_p99_ms",
                "limit_wal_flush_p99_ms", "cpu_ms_per_submit_server", "cpu_ms_per_submit_server_http",
                "cpu_ms_per_submit_server_jit", "cpu_ms_per_submit_server_without_jit"}) {
            assertTrue(v.containsKey(k), k + " missing from " + v);
        }
    }

    /** The server's threads by their names as /proc keeps them (15 characters), for cpu_ms_per_submit_server_*. */
    @Test
    void serverThreadsAreGroupedByTheirLinuxNames() {
        assertEquals("jit", ProcessCpu.threadGroup("C2 CompilerThre"));
        assertEquals("jit", ProcessCpu.threadGroup("C1 CompilerThre"));
        assertEquals("gc_vm", ProcessCpu.threadGroup("GC Thread#0"));
        assertEquals("http", ProcessCpu.threadGroup("JettyServerThre"));
        assertEquals("kafka_producer", ProcessCpu.threadGroup("kafka-producer-"));
        assertEquals("kafka_broker", ProcessCpu.threadGroup("data-plane-kafk"));
        assertEquals("kafka_broker", ProcessCpu.threadGroup("ExpirationReape"));
        assertEquals("wal_flusher", ProcessCpu.threadGroup("seed-wal-flushe"));
        assertEquals("ingester", ProcessCpu.threadGroup("seed-ingester-0"));
        assertEquals("other", ProcessCpu.threadGroup("main"));
        assertEquals("broker_threads", CpuMeter.group("ExpirationReaper-1-Produce"));
    }

    @Test
    void ingestPrintsPostgresCopyOfTheSameRowsBesideIt() {
        Map<String, String> v = run(new IngestBenchCommand(), "--data-dir", dir.resolve("ingest").toString(), "--events", "3000",
                "--partitions", "1", "--warmup-events", "0", "--batch", "1000");
        assertTrue(Double.parseDouble(v.get("rankings_per_s")) > 0, v.toString());
        assertTrue(Double.parseDouble(v.get("limit_postgres_copy_rows_per_s")) > 0, v.toString());
        assertTrue(v.containsKey("heap_max_mb"), v.toString());
    }

    @Test
    void cpuMeterPlacesTheJvmsOwnThreadsAndTheIngestersKafkaClients() {
        assertEquals("jit_threads", CpuMeter.internalGroup("C2 CompilerThre"));
        assertEquals("gc_threads", CpuMeter.internalGroup("GC Thread#0"));
        assertEquals("gc_threads", CpuMeter.internalGroup("G1 Conc#0"));
        assertEquals(null, CpuMeter.internalGroup("seed-ingester-0"));
        assertEquals("ingester_kafka_threads", CpuMeter.group("kafka-coordinator-heartbeat-thread | bench-x"));
        assertEquals("broker_threads", CpuMeter.group("kafka-log-cleaner-thread-0"));
        if (java.nio.file.Files.isDirectory(java.nio.file.Path.of("/proc/self/task"))) {
            // this JVM has compiled something by now (JUnit itself), so its compiler threads have used CPU
            assertTrue(CpuMeter.jvmInternal().getOrDefault("jit_threads", 0L) > 0, CpuMeter.jvmInternal().toString());
        }
    }

    /** Runs a bench command in this JVM; its {@code name=value} lines (the last value of a name wins). */
    private static Map<String, String> run(Object command, String... args) {
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(command);
        cl.setOut(new PrintWriter(out, true));
        int code = cl.execute(args);
        assertEquals(0, code, out.toString());
        Map<String, String> v = new LinkedHashMap<>();
        for (String line : out.toString().split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && !line.startsWith("bench=")) {
                v.put(line.substring(0, eq), line.substring(eq + 1).strip());
            }
        }
        return v;
    }
}
