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

    private final SeedEngine engine;
    private final OperatorApi api;

    AirflowApi(SeedEngine engine, OperatorApi api) {
        this.engine = engine;
        this.api = api;
    }

    void register(Javalin app) {
        app.get("/api/v1/dags", ctx -> {
            api.reader(ctx);
            List<Map<String, Object>> dags = engine.flows().stream().map(AirflowApi::dag).toList();
            ctx.json(Map.of("dags", dags, "total_entries", dags.size()));
        });
        app.get("/api/v1/dags/{dag_id}", ctx -> {
            api.reader(ctx);
            ctx.json(dag(flow(ctx)));
        });
        app.post("/api/v1/dags/{dag_id}/dagRuns", this::trigger);
        app.get("/api/v1/dags/{dag_id}/dagRuns", ctx -> {
            api.reader(ctx);
            Flow f = flow(ctx);
            List<Map<String, Object>> runs = engine.recent(100).stream()
                    .filter(e -> e.getFlowId().equals(f.getId())).map(AirflowApi::dagRun).toList();
            ctx.json(Map.of("dag_runs", runs, "total_entries", runs.size()));
        });
        app.get("/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}", ctx -> {
            api.reader(ctx);
            ctx.json(dagRun(run(ctx)));
        });
        app.patch("/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}", this::patch);
        app.get("/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", ctx -> {
            api.reader(ctx);
            Execution e = run(ctx);
            List<Map<String, Object>> tis = new ArrayList<>();
            if (e.getTaskRunList() != null) {
                for (TaskRun t : e.getTaskRunList()) {
                    tis.add(taskInstance(e, t));
                }
            }
            ctx.json(Map.of("task_instances", tis, "total_entries", tis.size()));
        });
    }

    private void trigger(Context ctx) {
        Annotator who = api.operator(ctx);
        Flow f = flow(ctx);
        JsonNode body = OperatorApi.body(ctx);
        Map<String, Object> conf = body.hasNonNull("conf")
                ? OperatorApi.JSON.convertValue(body.get("conf"), Map.class) : Map.of();
        Map<String, String> labels = body.hasNonNull("dag_run_id")
                ? Map.of(RUN_ID_LABEL, body.get("dag_run_id").asText()) : Map.of();
        Execution e = engine.launch(f.getNamespace() + "." + f.getId(), conf, who.name(), labels);
        String runId = labels.getOrDefault(RUN_ID_LABEL, e.getId());
        Map<String, Object> out = dagRun(e);
        out.put("dag_run_id", runId);
        out.put("state", "queued");
        ctx.status(200).json(out);
    }

    private void patch(Context ctx) throws Exception {
        api.operator(ctx);
        Execution e = run(ctx);
        String state = OperatorApi.body(ctx).path("state").asText("");
        if (!state.equals("failed")) {
            throw new OperatorApi.ApiError(400, "state must be \"failed\" (cancel the run); got \"" + state + "\"");
        }
        if (!e.getState().isTerminated()) {
            OperatorApi.guard(() -> engine.kill(e.getId()));
        }
        Map<String, Object> out = dagRun(engine.require(e.getId()));
        out.put("state", "failed");
        ctx.json(out);
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
        Flow f = flow(ctx);
        String id = ctx.pathParam("dag_run_id");
        Execution e = engine.execution(id).orElseGet(() -> engine.recent(500).stream()
                .filter(x -> id.equals(label(x, RUN_ID_LABEL))).findFirst()
                .orElseThrow(() -> new OperatorApi.ApiError(404, "DAGRun not found: " + id)));
        if (!e.getFlowId().equals(f.getId())) {
            throw new OperatorApi.ApiError(404, "DAGRun " + id + " belongs to " + e.getNamespace() + "." + e.getFlowId());
        }
        return e;
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
        String runId = label(e, RUN_ID_LABEL);
        m.put("dag_run_id", runId != null ? runId : e.getId());
        m.put("dag_id", e.getNamespace() + "." + e.getFlowId());
        String start = e.getState().getStartDate().toString();
        m.put("logical_date", start);
        m.put("execution_date", start);
        m.put("start_date", start);
        m.put("end_date", e.getState().isTerminated() ? e.getState().getEndDate().map(Instant::toString).orElse(null)
                : null);
        m.put("data_interval_start", start);
        m.put("data_interval_end", start);
        m.put("state", runState(e.getState().getCurrent()));
        m.put("external_trigger", true);
        m.put("run_type", "manual");
        m.put("conf", e.getInputs() == null ? Map.of() : e.getInputs());
        m.put("note", "kestra execution " + e.getId());
        return m;
    }

    static Map<String, Object> taskInstance(Execution e, TaskRun t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task_id", t.getTaskId());
        m.put("dag_id", e.getNamespace() + "." + e.getFlowId());
        String runId = label(e, RUN_ID_LABEL);
        m.put("dag_run_id", runId != null ? runId : e.getId());
        m.put("execution_date", e.getState().getStartDate().toString());
        m.put("start_date", t.getState().getStartDate().toString());
        m.put("end_date", t.getState().isTerminated() ? t.getState().getEndDate().map(Instant::toString).orElse(null)
                : null);
        m.put("duration", t.getState().getDuration().map(d -> d.toMillis() / 1000.0).orElse(null));
        m.put("state", taskState(t.getState().getCurrent()));
        int tries = t.getAttempts() == null ? 0 : t.getAttempts().size();
        m.put("try_number", Math.max(1, tries));
        m.put("max_tries", 0);
        m.put("map_index", -1);
        m.put("operator", "KestraTask");
        m.put("pool", "default_pool");
        m.put("queue", "default");
        m.put("hostname", "");
        return m;
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
