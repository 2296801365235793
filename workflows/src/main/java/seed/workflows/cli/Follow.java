package seed.workflows.cli;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import java.io.PrintStream;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import seed.workflows.engine.RunViews;
import seed.workflows.engine.SeedEngine;

/** Streams a run's log lines (every stage's progress) until it ends, and prints how it ended. */
final class Follow {

    private Follow() {
    }

    static Execution untilDone(SeedEngine engine, String id, Duration timeout, PrintStream out) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Set<String> seen = new HashSet<>();
        while (true) {
            Execution e = engine.require(id);
            print(engine, e, seen, out);
            if (SeedEngine.finished(e)) {
                Thread.sleep(300); // last log lines of the final task arrive shortly after its state
                print(engine, engine.require(id), seen, out);
                return engine.require(id);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("run " + id + " still " + e.getState().getCurrent() + " after "
                        + timeout + "; it goes on in the engine (seed status " + id + ")");
            }
            Thread.sleep(500);
        }
    }

    private static void print(SeedEngine engine, Execution e, Set<String> seen, PrintStream out) {
        for (Map<String, Object> l : RunViews.logs(engine, e, null)) {
            String key = l.get("time") + "|" + l.get("flow") + "|" + l.get("task") + "|" + l.get("message");
            if (seen.add(key)) {
                out.printf("[%s/%s] %s%n", l.get("flow"), l.get("task"), l.get("message"));
            }
        }
    }

    /** Prints the outcome and the name=value lines; returns the exit code (0 only on SUCCESS). */
    static int report(SeedEngine engine, Execution e, PrintStream out) {
        return report(engine, e, out, List.of());
    }

    /**
     * As {@link #report(SeedEngine, Execution, PrintStream)}, with the outputs named in {@code last} printed after all
     * the others, in that order, and once each (the demo ends with the harm stage 3 suppresses).
     */
    static int report(SeedEngine engine, Execution e, PrintStream out, List<String> last) {
        out.println();
        out.println("run " + e.getId() + " ended " + e.getState().getCurrent() + " after "
                + String.format("%.1f s", RunViews.summary(e).get("duration_s")));
        if (e.getState().getCurrent() != State.Type.SUCCESS) {
            failure(engine, e, out);
            out.println("execution=" + e.getId());
            out.println("state=" + e.getState().getCurrent());
            return 1;
        }
        Map<String, Object> outputs = e.getOutputs();
        if (outputs != null && outputs.get("table") != null) {
            out.println(outputs.get("table"));
        }
        out.println("execution=" + e.getId());
        out.println("state=" + e.getState().getCurrent());
        outputLines(outputs, last).forEach(out::println);
        return 0;
    }

    /** The {@code name=value} lines of a run's outputs but its table: those named in {@code last} at the end, once. */
    static List<String> outputLines(Map<String, Object> outputs, List<String> last) {
        List<String> lines = new java.util.ArrayList<>();
        if (outputs == null) {
            return lines;
        }
        outputs.forEach((k, v) -> {
            if (!"table".equals(k) && !last.contains(k)) {
                lines.add(k + "=" + v);
            }
        });
        for (String k : last) {
            if (outputs.containsKey(k)) {
                lines.add(k + "=" + outputs.get(k));
            }
        }
        return lines;
    }

    /** Names the failed stage, task and the error lines, so nobody has to dig through the logs. */
    static void failure(SeedEngine engine, Execution e, PrintStream out) {
        List<Map<String, Object>> logs = RunViews.logs(engine, e, null);
        for (Execution c : engine.children(e.getId())) {
            if (c.getState().isFailed() || c.getState().getCurrent() == State.Type.KILLED) {
                out.println("stage " + c.getFlowId() + " " + c.getState().getCurrent() + " (execution " + c.getId()
                        + ")");
            }
        }
        logs.stream().filter(l -> "ERROR".equals(l.get("level"))).limit(5)
                .forEach(l -> out.println("  " + l.get("flow") + "/" + l.get("task") + ": " + l.get("message")));
        out.println("resume with: seed resume " + e.getId());
    }
}
