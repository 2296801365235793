package seed.workflows.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.executions.TaskRun;
import io.kestra.core.models.flows.Flow;
import io.kestra.core.models.flows.State;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import seed.annotation.core.Annotator;
import seed.workflows.engine.SeedEngine;

/**
 * The subset of Airflow's stable REST API (v1) that scripts use to trigger and watch runs, answered by Seed's Kestra
 * engine: flows are DAGs ({@code dag_id} = {@code seed.three-stage}), executions are DAG runs, and a run's tasks are
 * task instances, with Airflow's field names and states. A run is cancelled the Airflow way, by PATCHing its state
 * to "failed". Shapes follow Airflow's published OpenAPI document (DAG, DAGCollection, DAGRun, DAGRunCollection,
 * TaskInstance, TaskInstanceCollection).
 */
final class AirflowApi {

    static final String RUN_ID_LABEL = "airflow-dag-run-id";
    static final String LOGICAL_DATE_LABEL = "airflow-logical-date";
    static final String NOTE_LABEL = "airflow-note";

    private final SeedEngine engine;
    private final OperatorApi api;

    AirflowApi(SeedEngine engine, OperatorApi api) {
        this.engine = engine;
        this.api = api;
    }

    void register(Javalin app) {
        // Airflow answers these two without authentication, so monitors can poll them
        app.get("/api/v1/health", ctx -> {
            Map<String, Object> ok = new LinkedHashMap<>();
            ok.put("metadatabase", Map.of("status", "healthy"));
            Map<String, Object> scheduler = new LinkedHashMap<>();
            scheduler.put("status", "healthy");
            scheduler.put("latest_scheduler_heartbeat", Instant.now().toString());
            ok.put("scheduler", scheduler);
            ctx.json(ok);
        });
        app.get("/api/v1/version", ctx -> {
            var info = seed.workflows.lineage.RuntimeInfo.current();
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("version", info.seedVersion());
            v.put("git_version", info.gitCommit());
            ctx.json(v);
        });
        app.get("/api/v1/dags", ctx -> {
            api.reader(ctx);
            String pattern = ctx.queryParam("dag_id_pattern");
            List<Map<String, Object>> dags = engine.flows().stream().map(AirflowApi::dag)
                    .filter(d -> pattern == null || d.get("dag_id").toString().contains(pattern))
                    .sorted(java.util.Comparator.comparing(d -> d.get("dag_id").toString())).toList();
            ctx.json(page("dags", dags, ctx));
        });
        app.get("/api/v1/dags/{dag_id}", ctx -> {
            api.reader(ctx);
            ctx.json(dag(flow(ctx)));
        });
        app.get("/api/v1/dags/{dag_id}/details", ctx -> {
            api.reader(ctx);
            ctx.json(details(flow(ctx)));
        });
        app.get("/api/v1/dags/{dag_id}/tasks", ctx -> {
            api.reader(ctx);
            Flow f = flow(ctx);
            List<Map<String, Object>> tasks = new ArrayList<>();
            for (int i = 0; i < f.getTasks().size(); i++) {
                tasks.add(task(f, f.getTasks().get(i), i + 1 < f.getTasks().size() ? f.getTasks().get(i + 1) : null));
            }
            ctx.json(Map.of("tasks", tasks, "total_entries", tasks.size()));
        });
        app.post("/api/v1/dags/{dag_id}/dagRuns", this::trigger);
        app.get("/api/v1/dags/{dag_id}/dagRuns", ctx -> {
            api.reader(ctx);
            String dagId = ctx.pathParam("dag_id");
            Flow f = "~".equals(dagId) ? null : flow(ctx); // "~": every DAG, as in Airflow
            List<String> states = ctx.queryParams("state");
            List<Map<String, Object>> runs = new ArrayList<>(engine.recent(10_000).stream()
                    .filter(e -> f == null || e.getFlowId().equals(f.getId()))
                    .filter(e -> e.getTrigger() == null || e.getTrigger().getVariables() == null
                            || !e.getTrigger().getVariables().containsKey("executionId"))
                    .map(AirflowApi::dagRun)
                    .filter(r -> states.isEmpty() || states.contains(r.get("state").toString())).toList());
            sort(runs, ctx.queryParam("order_by"));
            ctx.json(page("dag_runs", runs, ctx));
        });
        app.get("/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}", ctx -> {
            api.reader(ctx);
            ctx.json(dagRun(run(ctx)));
        });
        app.patch("/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}", this::patch);
        app.get("/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", ctx -> {
            api.reader(ctx);
            List<Map<String, Object>> tis = taskInstances(run(ctx));
            ctx.json(Map.of("task_instances", tis, "total_entries", tis.size()));
        });
        app.get("/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", ctx -> {
            api.reader(ctx);
            Map<String, Object> ti = taskInstance(run(ctx), ctx.pathParam("task_id"));
            ti.remove("_execution");
            ti.remove("_task_run_id");
            ctx.json(ti);
        });
        app.get("/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}", ctx -> {
            api.reader(ctx);
            Execution e = run(ctx);
            Map<String, Object> ti = taskInstance(e, ctx.pathParam("task_id"));
            int tryNumber;
            try {
                tryNumber = Integer.parseInt(ctx.pathParam("try_number"));
            } catch (NumberFormatException ex) {
                throw new OperatorApi.ApiError(400, "try_number must be an integer");
            }
            if (tryNumber < 1 || tryNumber > (int) ti.get("try_number")) {
                throw new OperatorApi.ApiError(404, "task " + ti.get("task_id") + " has tries 1.."
                        + ti.get("try_number") + ", not " + tryNumber);
            }
            String text = log((Execution) ti.remove("_execution"), (String) ti.remove("_task_run_id"), tryNumber);
            if (String.valueOf(ctx.header("Accept")).contains("text/plain")) {
                ctx.contentType("text/plain").result(text);
            } else {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("continuation_token", null);
                body.put("content", text);
                ctx.json(body);
            }
        });
        app.post("/api/v1/dags/{dag_id}/clearTaskInstances", this::clear);
    }

    /** Airflow's paging: limit (default 100) and offset over the whole list; total_entries counts all of it. */
    private static Map<String, Object> page(String key, List<Map<String, Object>> all, Context ctx) {
        int limit = intParam(ctx, "limit", 100);
        int offset = intParam(ctx, "offset", 0);
        List<Map<String, Object>> part = all.subList(Math.min(offset, all.size()),
                Math.min(all.size(), offset + Math.max(0, limit)));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(key, part);
        m.put("total_entries", all.size());
        return m;
    }

    private static int intParam(Context ctx, String name, int fallback) {
        String v = ctx.queryParam(name);
        try {
            int x = v == null ? fallback : Integer.parseInt(v);
            if (x < 0) {
                throw new NumberFormatException();
            }
            return x;
        } catch (NumberFormatException e) {
            throw new OperatorApi.ApiError(400, name + " must be a non-negative integer, got '" + v + "'");
        }
    }

    /** order_by as Airflow takes it: a field name, "-" in front for descending; newest first by default. */
    private static void sort(List<Map<String, Object>> runs, String orderBy) {
        String key = orderBy == null ? "-start_date" : orderBy;
        boolean desc = key.startsWith("-");
        String field = desc ? key.substring(1) : key;
        if (!List.of("start_date", "end_date", "execution_date", "logical_date", "dag_run_id", "state", "id")
                .contains(field)) {
            throw new OperatorApi.ApiError(400, "order_by cannot sort by '" + field + "'");
        }
        String f = field.equals("id") ? "dag_run_id" : field;
        java.util.Comparator<Map<String, Object>> c = java.util.Comparator.comparing(
                (Map<String, Object> r) -> String.valueOf(r.get(f)), java.util.Comparator.nullsLast(String::compareTo));
        runs.sort(desc ? c.reversed() : c);
    }

    private void trigger(Context ctx) {
        Annotator who = api.operator(ctx);
        Flow f = flow(ctx);
        JsonNode body = OperatorApi.body(ctx);
        for (var it = body.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!List.of("dag_run_id", "conf", "logical_date", "execution_date", "note", "data_interval_start",
                    "data_interval_end").contains(k)) {
                throw new OperatorApi.ApiError(400, "unknown field '" + k + "' in the DAGRun body");
            }
        }
        if (body.hasNonNull("conf") && !body.get("conf").isObject()) {
            throw new OperatorApi.ApiError(400, "conf must be an object of flow inputs");
        }
        Map<String, Object> conf = body.hasNonNull("conf")
                ? OperatorApi.JSON.convertValue(body.get("conf"), Map.class) : Map.of();
        Map<String, String> labels = new LinkedHashMap<>();
        if (body.hasNonNull("dag_run_id")) {
            String runId = body.get("dag_run_id").asText();
            boolean taken = engine.execution(runId).isPresent() || engine.recent(10_000).stream()
                    .anyMatch(x -> x.getFlowId().equals(f.getId()) && runId.equals(label(x, RUN_ID_LABEL)));
            if (taken) {
                throw new OperatorApi.ApiError(409, "DAGRun with DAG ID: '" + f.getNamespace() + "." + f.getId()
                        + "' and DAGRun ID: '" + runId + "' already exists");
            }
            labels.put(RUN_ID_LABEL, runId);
        }
        String logical = body.hasNonNull("logical_date") ? body.get("logical_date").asText()
                : body.hasNonNull("execution_date") ? body.get("execution_date").asText() : null;
        if (logical != null) {
            try {
                labels.put(LOGICAL_DATE_LABEL, java.time.OffsetDateTime.parse(logical).toInstant().toString());
            } catch (java.time.format.DateTimeParseException e) {
                throw new OperatorApi.ApiError(400, "logical_date must be an RFC 3339 date-time, got '" + logical + "'");
            }
        }
        if (body.hasNonNull("note")) {
            labels.put(NOTE_LABEL, body.get("note").asText());
        }
        Execution e = engine.launch(f.getNamespace() + "." + f.getId(), conf, who.name(), labels);
        Map<String, Object> out = dagRun(e);
        out.put("state", "queued");
        ctx.status(200).json(out);
    }

    /**
     * PATCH a run's state the Airflow way, as far as Kestra can honour it: "failed" cancels a live run; "queued"
     * re-runs a failed or cancelled one (Kestra's restart); anything Kestra cannot do (mark a finished run failed or
     * successful) is a 409 with the reason rather than a 200 that is not true.
     */
    private void patch(Context ctx) throws Exception {
        api.operator(ctx);
        Execution e = run(ctx);
        JsonNode body = OperatorApi.body(ctx);
        String state = body.path("state").asText("");
        String now = runState(e.getState().getCurrent());
        boolean live = !SeedEngine.finished(e);
        switch (state) {
            case "failed" -> {
                if (live) {
                    OperatorApi.guard(() -> engine.kill(e.getId()));
                } else if (!now.equals("failed")) {
                    throw new OperatorApi.ApiError(409, "DAGRun " + ctx.pathParam("dag_run_id") + " already ended "
                            + now + "; Kestra cannot mark a finished run failed");
                }
                Map<String, Object> out = dagRun(engine.require(e.getId()));
                out.put("state", "failed");
                ctx.json(out);
            }
            case "success" -> {
                if (!now.equals("success")) {
                    throw new OperatorApi.ApiError(409, "DAGRun " + ctx.pathParam("dag_run_id") + " is " + now
                            + "; Kestra cannot mark a run successful (only its tasks can make it so)");
                }
                ctx.json(dagRun(e));
            }
            case "queued" -> {
                if (live) {
                    throw new OperatorApi.ApiError(409, "DAGRun " + ctx.pathParam("dag_run_id") + " is " + now
                            + "; only a failed run can be queued again");
                }
                Execution[] again = new Execution[1];
                OperatorApi.guard(() -> again[0] = engine.restart(e.getId()));
                Map<String, Object> out = dagRun(again[0]);
                out.put("state", "queued");
                ctx.json(out);
            }
            default -> throw new OperatorApi.ApiError(400, "state must be \"success\", \"failed\" or \"queued\"; got \""
                    + state + "\"");
        }
    }

    /**
     * clearTaskInstances mapped to Seed's resume: the run's failed (or killed) tasks run again, finished ones keep
     * their outputs. Airflow's default {@code dry_run: true} only lists what would be cleared.
     */
    private void clear(Context ctx) throws Exception {
        api.operator(ctx);
        Flow f = flow(ctx);
        JsonNode body = OperatorApi.body(ctx);
        if (!body.hasNonNull("dag_run_id")) {
            throw new OperatorApi.ApiError(400, "give dag_run_id: Seed clears the failed tasks of one run");
        }
        Execution e = findRun(f, body.get("dag_run_id").asText());
        boolean dryRun = body.path("dry_run").asBoolean(true);
        List<Map<String, Object>> refs = new ArrayList<>();
        for (Map<String, Object> ti : taskInstances(e)) {
            if ("failed".equals(ti.get("state")) || "upstream_failed".equals(ti.get("state"))) {
                Map<String, Object> ref = new LinkedHashMap<>();
                ref.put("task_id", ti.get("task_id"));
                ref.put("dag_id", ti.get("dag_id"));
                ref.put("dag_run_id", ti.get("dag_run_id"));
                ref.put("execution_date", ti.get("execution_date"));
                refs.add(ref);
            }
        }
        if (!dryRun) {
            if (refs.isEmpty()) {
                throw new OperatorApi.ApiError(409, "DAGRun " + body.get("dag_run_id").asText()
                        + " has no failed task to clear");
            }
            OperatorApi.guard(() -> engine.restart(e.getId()));
        }
        ctx.json(Map.of("task_instances", refs));
    }

    private Flow flow(Context ctx) {
        String dag = ctx.pathParam("dag_id");
        try {
            return engine.flow(dag);
        } catch (IllegalArgumentException e) {
            throw new OperatorApi.ApiError(404, "DAG not found: " + e.getMessage());
        }
    }

    private Execution run(Context ctx) {
        return findRun(flow(ctx), ctx.pathParam("dag_run_id"));
    }

    /**
     * The run by Kestra id or by the dag_run_id an Airflow client gave; when a cancelled run was resumed (Kestra's
     * replay keeps the labels) the newest execution carrying that dag_run_id is the run.
     */
    private Execution findRun(Flow f, String id) {
        Execution e = engine.recent(10_000).stream().filter(x -> id.equals(label(x, RUN_ID_LABEL))).findFirst()
                .orElseGet(() -> engine.execution(id)
                        .orElseThrow(() -> new OperatorApi.ApiError(404, "DAGRun not found: " + id)));
        if (!e.getFlowId().equals(f.getId())) {
            throw new OperatorApi.ApiError(404, "DAGRun " + id + " belongs to " + e.getNamespace() + "." + e.getFlowId());
        }
        return e;
    }

    /** The run's task instances: its own tasks, then each stage's (subflow's) tasks as {@code stage.task}. */
    private List<Map<String, Object>> taskInstances(Execution e) {
        List<Map<String, Object>> tis = new ArrayList<>();
        Flow flow = engine.flow(e.getFlowId());
        if (e.getTaskRunList() != null) {
            for (TaskRun t : e.getTaskRunList()) {
                tis.add(taskInstance(e, e, t, flow, t.getTaskId()));
            }
        }
        for (Execution c : engine.children(e.getId())) {
            Flow cf = engine.flow(c.getFlowId());
            if (c.getTaskRunList() != null) {
                for (TaskRun t : c.getTaskRunList()) {
                    tis.add(taskInstance(e, c, t, cf, c.getFlowId() + "." + t.getTaskId()));
                }
            }
        }
        return tis;
    }

    /** One task instance by Airflow task_id, with the execution and task run its log lives in (keys "_..."). */
    private Map<String, Object> taskInstance(Execution e, String taskId) {
        Flow flow = engine.flow(e.getFlowId());
        List<Execution> owners = new ArrayList<>();
        owners.add(e);
        owners.addAll(engine.children(e.getId()));
        Map<String, Object> found = null;
        for (Execution x : owners) {
            if (x.getTaskRunList() == null) {
                continue;
            }
            for (TaskRun t : x.getTaskRunList()) {
                String id = x == e ? t.getTaskId() : x.getFlowId() + "." + t.getTaskId();
                if (id.equals(taskId)) {
                    found = taskInstance(e, x, t, x == e ? flow : engine.flow(x.getFlowId()), id);
                    found.put("_execution", x);
                    found.put("_task_run_id", t.getId());
                }
            }
        }
        if (found == null) {
            throw new OperatorApi.ApiError(404, "Task instance not found: " + taskId);
        }
        return found;
    }

    /** Log lines of one try (Airflow's try_number counts from 1, Kestra's attempt number from 0). */
    private String log(Execution x, String taskRunId, int tryNumber) {
        StringBuilder sb = new StringBuilder();
        engine.logs(x.getId()).stream().filter(l -> taskRunId.equals(l.getTaskRunId()))
                .filter(l -> l.getAttemptNumber() == null || l.getAttemptNumber() == tryNumber - 1)
                .sorted(java.util.Comparator.comparing(io.kestra.core.models.executions.LogEntry::getTimestamp))
                .forEach(l -> sb.append(l.getTimestamp()).append(' ').append(l.getLevel()).append(' ')
                        .append(l.getMessage()).append('\n'));
        return sb.toString();
    }

    static Map<String, Object> dag(Flow f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dag_id", f.getNamespace() + "." + f.getId());
        m.put("dag_display_name", f.getNamespace() + "." + f.getId());
        m.put("description", f.getDescription());
        m.put("is_paused", Boolean.TRUE.equals(f.isDisabled()));
        m.put("is_active", true);
        m.put("is_subdag", false);
        m.put("fileloc", "flows/" + f.getNamespace() + "." + f.getId() + ".yaml");
        m.put("owners", List.of("seed"));
        m.put("tags", List.of(Map.of("name", "kestra")));
        m.put("has_task_concurrency_limits", f.getConcurrency() != null);
        return m;
    }

    static Map<String, Object> dagRun(Execution e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dag_run_id", runId(e));
        m.put("dag_id", e.getNamespace() + "." + e.getFlowId());
        String start = e.getState().getStartDate().toString();
        String logical = logicalDate(e);
        m.put("logical_date", logical);
        m.put("execution_date", logical);
        m.put("start_date", start);
        m.put("end_date", e.getState().isTerminated() ? e.getState().getEndDate().map(Instant::toString).orElse(null)
                : null);
        m.put("data_interval_start", logical);
        m.put("data_interval_end", logical);
        m.put("last_scheduling_decision", null);
        // a task about to retry leaves the run FAILED for a moment in Kestra; Airflow clients would stop polling there
        m.put("state", e.getState().isTerminated() && !SeedEngine.finished(e) ? "running"
                : runState(e.getState().getCurrent()));
        m.put("external_trigger", true);
        m.put("run_type", "manual");
        m.put("conf", e.getInputs() == null ? Map.of() : e.getInputs());
        String note = label(e, NOTE_LABEL);
        m.put("note", note);
        return m;
    }

    /** A task run as Airflow's TaskInstance; {@code run} is the DAG run, {@code owner} the execution holding it. */
    static Map<String, Object> taskInstance(Execution run, Execution owner, TaskRun t, Flow flow, String taskId) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task_id", taskId);
        m.put("task_display_name", taskId);
        m.put("dag_id", run.getNamespace() + "." + run.getFlowId());
        m.put("dag_run_id", runId(run));
        m.put("execution_date", logicalDate(run));
        m.put("start_date", t.getState().getStartDate().toString());
        m.put("end_date", t.getState().isTerminated() ? t.getState().getEndDate().map(Instant::toString).orElse(null)
                : null);
        m.put("duration", t.getState().getDuration().map(d -> d.toMillis() / 1000.0).orElse(null));
        m.put("state", taskState(t.getState().getCurrent()));
        m.put("try_number", tries(t));
        m.put("max_tries", maxTries(flow, t.getTaskId()));
        m.put("map_index", -1);
        var task = flow == null ? null : flow.findTaskByTaskIdOrNull(t.getTaskId());
        m.put("operator", task == null ? "KestraTask" : task.getType().substring(task.getType().lastIndexOf('.') + 1));
        m.put("pool", "default_pool");
        m.put("pool_slots", 1);
        m.put("queue", "default");
        m.put("priority_weight", 1);
        m.put("hostname", "");
        m.put("unixname", "seed");
        m.put("note", null);
        return m;
    }

    /**
     * Tries so far: Kestra records each retry as another attempt of the task run and passes it through RUNNING
     * again; whichever counts more is the try number (at least 1 once the task exists).
     */
    static int tries(TaskRun t) {
        int attempts = t.getAttempts() == null ? 0 : t.getAttempts().size();
        long running = t.getState().getHistories() == null ? 0 : t.getState().getHistories().stream()
                .filter(h -> h.getState() == State.Type.RUNNING).count();
        return (int) Math.max(1, Math.max(attempts, running));
    }

    /** Airflow's max_tries is the number of retries: Kestra's maxAttempts counts the first try too. */
    static int maxTries(Flow flow, String taskId) {
        var task = flow == null ? null : flow.findTaskByTaskIdOrNull(taskId);
        if (task == null || task.getRetry() == null) {
            return 0;
        }
        Integer max = task.getRetry().getMaxAttempts();
        if (max == null) {
            max = task.getRetry().getMaxAttempt();
        }
        return max == null ? 0 : Math.max(0, max - 1);
    }

    /** Airflow's DAGDetail: the DAG with its schedule-level settings. */
    static Map<String, Object> details(Flow f) {
        Map<String, Object> m = dag(f);
        m.put("timezone", "UTC");
        m.put("catchup", false);
        m.put("orientation", "LR");
        m.put("concurrency", f.getConcurrency() == null ? 16 : f.getConcurrency().getLimit());
        m.put("max_active_tasks", f.getConcurrency() == null ? 16 : f.getConcurrency().getLimit());
        m.put("start_date", null);
        m.put("dag_run_timeout", null);
        m.put("doc_md", f.getDescription());
        m.put("default_view", "grid");
        m.put("is_paused_upon_creation", null);
        m.put("render_template_as_native_obj", false);
        m.put("template_search_path", null);
        m.put("last_parsed", null);
        Map<String, Object> params = new LinkedHashMap<>();
        seed.workflows.engine.FlowInputs.of(f.getNamespace() + "." + f.getId()).inputs().forEach(i -> {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("value", i.defaults());
            p.put("description", i.description());
            p.put("schema", Map.of("type", i.type().toLowerCase()));
            params.put(i.id(), p);
        });
        m.put("params", params);
        return m;
    }

    /** Airflow's Task: one top-level task of the flow, its retries and what runs after it. */
    static Map<String, Object> task(Flow f, io.kestra.core.models.tasks.Task t, io.kestra.core.models.tasks.Task next) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("class_ref", Map.of("module_path", t.getType().substring(0, Math.max(0, t.getType().lastIndexOf('.'))),
                "class_name", t.getType().substring(t.getType().lastIndexOf('.') + 1)));
        m.put("task_id", t.getId());
        m.put("task_display_name", t.getId());
        m.put("owner", "seed");
        m.put("start_date", null);
        m.put("end_date", null);
        m.put("trigger_rule", "all_success");
        m.put("extra_links", List.of());
        m.put("depends_on_past", false);
        m.put("is_mapped", false);
        m.put("wait_for_downstream", false);
        m.put("retries", maxTries(f, t.getId()));
        m.put("queue", "default");
        m.put("pool", "default_pool");
        m.put("pool_slots", 1);
        m.put("execution_timeout", null);
        m.put("retry_delay", null);
        m.put("retry_exponential_backoff", t.getRetry() != null && t.getRetry().getType().equals("exponential"));
        m.put("priority_weight", 1);
        m.put("weight_rule", "downstream");
        m.put("ui_color", "#ffffff");
        m.put("ui_fgcolor", "#000000");
        m.put("template_fields", List.of());
        m.put("sub_dag", null);
        m.put("downstream_task_ids", next == null ? List.of() : List.of(next.getId()));
        return m;
    }

    static String runId(Execution e) {
        String runId = label(e, RUN_ID_LABEL);
        return runId != null ? runId : e.getId();
    }

    /** The logical date a client gave at trigger time, else the run's start. */
    static String logicalDate(Execution e) {
        String given = label(e, LOGICAL_DATE_LABEL);
        return given != null ? given : e.getState().getStartDate().toString();
    }

    /** Airflow DagRunState: queued, running, success, failed. */
    static String runState(State.Type s) {
        return switch (s) {
            case CREATED, QUEUED -> "queued";
            case SUCCESS, WARNING, SKIPPED -> "success";
            case FAILED, KILLED, CANCELLED -> "failed";
            default -> "running";
        };
    }

    /** Airflow TaskInstanceState. */
    static String taskState(State.Type s) {
        return switch (s) {
            case CREATED -> "scheduled";
            case QUEUED -> "queued";
            case SUCCESS, WARNING -> "success";
            case FAILED, KILLED, CANCELLED -> "failed";
            case RETRYING, RETRIED -> "up_for_retry";
            case SKIPPED -> "skipped";
            case RESTARTED -> "restarting";
            default -> "running";
        };
    }

    static String label(Execution e, String key) {
        if (e.getLabels() != null) {
            for (var l : e.getLabels()) {
                if (key.equals(l.key())) {
                    return l.value();
                }
            }
        }
        return null;
    }
}
