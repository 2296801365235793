package seed.workflows.engine;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.executions.LogEntry;
import io.kestra.core.models.executions.TaskRun;
import io.kestra.core.models.flows.State;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Kestra executions as the plain JSON-ready maps operators see (the operator API, {@code seed status}): a run, its
 * tasks with state, attempt, duration and outputs, and its stages' child executions the same way.
 */
public final class RunViews {

    private RunViews() {
    }

    /** A run in one line's worth of fields. */
    public static Map<String, Object> summary(Execution e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", e.getId());
        m.put("flow", e.getNamespace() + "." + e.getFlowId());
        m.put("state", e.getState().getCurrent().toString());
        m.put("started", e.getState().getStartDate().toString());
        m.put("ended", e.getState().getEndDate().map(Instant::toString).orElse(null));
        m.put("duration_s", seconds(e.getState()));
        m.put("launched_by", launchedBy(e));
        m.put("parent", e.getTrigger() != null && e.getTrigger().getVariables() != null
                ? e.getTrigger().getVariables().get("executionId") : null);
        return m;
    }

    /** The run with every task and every stage's child execution. */
    public static Map<String, Object> detail(SeedEngine engine, Execution e) {
        Map<String, Object> m = summary(e);
        m.put("tasks", tasks(e, e.getState().isTerminated() ? List.of() : sorted(engine.logs(e.getId()))));
        m.put("outputs", e.getOutputs());
        List<Map<String, Object>> children = new ArrayList<>();
        for (Execution c : engine.children(e.getId())) {
            Map<String, Object> cm = summary(c);
            cm.put("tasks", tasks(c, c.getState().isTerminated() ? List.of() : sorted(engine.logs(c.getId()))));
            children.add(cm);
        }
        m.put("stages", children);
        return m;
    }

    /** The tasks without progress (summaries of finished runs). */
    public static List<Map<String, Object>> tasks(Execution e) {
        return tasks(e, List.of());
    }

    /**
     * The tasks; a running one gets {@code progress}, its newest progress line from the trainers' log ("pretrain
     * 120/300 (40%) | loss 2.1 | ... | ETA 0:42"): step, loss and ETA without reading the log.
     */
    public static List<Map<String, Object>> tasks(Execution e, List<LogEntry> logs) {
        List<Map<String, Object>> out = new ArrayList<>();
        if (e.getTaskRunList() == null) {
            return out;
        }
        for (TaskRun t : e.getTaskRunList()) {
            Map<String, Object> tm = new LinkedHashMap<>();
            tm.put("task", t.getTaskId());
            tm.put("state", t.getState().getCurrent().toString());
            tm.put("attempt", t.getAttempts() == null ? 0 : t.getAttempts().size());
            tm.put("started", t.getState().getStartDate().toString());
            tm.put("ended", t.getState().getEndDate().map(Instant::toString).orElse(null));
            tm.put("duration_s", seconds(t.getState()));
            tm.put("outputs", t.getOutputs() == null ? Map.of() : t.getOutputs());
            if (!t.getState().isTerminated()) {
                String p = null;
                for (LogEntry l : logs) {
                    if (t.getId().equals(l.getTaskRunId()) && l.getMessage() != null
                            && PROGRESS.matcher(l.getMessage()).find()) {
                        p = l.getMessage().strip();
                    }
                }
                tm.put("progress", p);
            }
            out.add(tm);
        }
        return out;
    }

    /** Log lines of a run and its stages, oldest first, optionally of one stage or task. */
    public static List<Map<String, Object>> logs(SeedEngine engine, Execution e, String stage) {
        List<LogEntry> all = new ArrayList<>(engine.logs(e.getId()));
        for (Execution c : engine.children(e.getId())) {
            if (stage == null || stage.equals(c.getFlowId())) {
                all.addAll(engine.logs(c.getId()));
            }
        }
        List<Map<String, Object>> out = new ArrayList<>();
        all.stream().filter(l -> stage == null || stage.equals(l.getTaskId()) || stage.equals(l.getFlowId()))
                .sorted(java.util.Comparator.comparing(LogEntry::getTimestamp)).forEach(l -> {
                    Map<String, Object> lm = new LinkedHashMap<>();
                    lm.put("time", l.getTimestamp().toString());
                    lm.put("flow", l.getFlowId());
                    lm.put("task", l.getTaskId());
                    lm.put("level", l.getLevel().toString());
                    lm.put("message", l.getMessage());
                    out.add(lm);
                });
        return out;
    }

    private static final java.util.regex.Pattern PROGRESS = java.util.regex.Pattern.compile("\\d+/\\d+ \\(\\d+%\\)");

    private static List<LogEntry> sorted(List<LogEntry> logs) {
        List<LogEntry> out = new ArrayList<>(logs);
        out.sort(java.util.Comparator.comparing(LogEntry::getTimestamp));
        return out;
    }

    /**
     * The name {@link #logs} filters on for what an operator typed: a stage's flow id with or without the namespace
     * ({@code seed.pretrain} as {@code seed status} prints it, or {@code pretrain}) or a task id; null when the run
     * has no such stage or task.
     */
    public static String resolveStage(SeedEngine engine, Execution e, String stage) {
        String s = stage.startsWith(SeedEngine.NAMESPACE + ".") ? stage.substring(SeedEngine.NAMESPACE.length() + 1)
                : stage;
        return stageNames(engine, e).contains(s) ? s : null;
    }

    /** The stage (child flow) ids and task ids of a run, for filtering logs and naming the choices. */
    public static java.util.SortedSet<String> stageNames(SeedEngine engine, Execution e) {
        java.util.SortedSet<String> names = new java.util.TreeSet<>();
        names.add(e.getFlowId());
        if (e.getTaskRunList() != null) {
            e.getTaskRunList().forEach(t -> names.add(t.getTaskId()));
        }
        for (Execution c : engine.children(e.getId())) {
            names.add(c.getFlowId());
            if (c.getTaskRunList() != null) {
                c.getTaskRunList().forEach(t -> names.add(t.getTaskId()));
            }
        }
        return names;
    }

    public static String launchedBy(Execution e) {
        if (e.getLabels() != null) {
            for (var label : e.getLabels()) {
                if ("launched-by".equals(label.key())) {
                    return label.value();
                }
            }
        }
        return e.getTrigger() != null ? "trigger:" + e.getTrigger().getId() : "unknown";
    }

    static double seconds(State s) {
        Instant end = s.getEndDate().orElse(Instant.now());
        return Duration.between(s.getStartDate(), end).toMillis() / 1000.0;
    }
}
