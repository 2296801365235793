package seed.workflows.lineage;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@link TaskRunRecord} to and from the snake_case map stored (canonically) in a lineage record's body. */
final class RecordCodec {

    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() { };

    private RecordCodec() {
    }

    static Map<String, Object> toMap(TaskRunRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("execution_id", r.executionId());
        m.put("parent_execution_id", r.parentExecutionId());
        m.put("flow_namespace", r.flowNamespace());
        m.put("flow_id", r.flowId());
        m.put("flow_revision", r.flowRevision());
        m.put("task_id", r.taskId());
        m.put("task_run_id", r.taskRunId());
        m.put("stage", r.stage());
        m.put("launched_by", r.launchedBy());
        m.put("started_at", r.startedAt().toString());
        m.put("ended_at", r.endedAt() == null ? null : r.endedAt().toString());
        m.put("status", r.status().name());
        m.put("attempt", r.attempt());
        m.put("device", r.device());
        m.put("settings", r.settings());
        m.put("inputs", artifacts(r.inputs()));
        m.put("outputs", artifacts(r.outputs()));
        m.put("metrics", r.metrics());
        m.put("snapshot_id", r.snapshotId());
        if (r.storeKey() != null) { // absent rather than null: bodies of runs outside the store stay as they were
            m.put("store_key", r.storeKey());
        }
        return m;
    }

    private static List<Map<String, Object>> artifacts(List<ArtifactRef> refs) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ArtifactRef a : refs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", a.name());
            m.put("path", a.path());
            m.put("sha256", a.sha256());
            m.put("size_bytes", a.sizeBytes());
            m.put("kind", a.kind());
            out.add(m);
        }
        return out;
    }

    static TaskRunRecord fromJson(JsonNode n) {
        return new TaskRunRecord(text(n, "execution_id"), text(n, "parent_execution_id"), text(n, "flow_namespace"),
                text(n, "flow_id"), n.path("flow_revision").asInt(), text(n, "task_id"), text(n, "task_run_id"),
                text(n, "stage"), text(n, "launched_by"), Instant.parse(text(n, "started_at")),
                n.hasNonNull("ended_at") ? Instant.parse(text(n, "ended_at")) : null,
                TaskRunRecord.Status.valueOf(text(n, "status")), n.path("attempt").asInt(), text(n, "device"),
                CanonicalJson.JSON.convertValue(n.path("settings"), MAP), artifactsFrom(n.path("inputs")),
                artifactsFrom(n.path("outputs")), CanonicalJson.JSON.convertValue(n.path("metrics"), MAP),
                n.hasNonNull("snapshot_id") ? n.get("snapshot_id").asLong() : null, text(n, "store_key"));
    }

    private static List<ArtifactRef> artifactsFrom(JsonNode list) {
        List<ArtifactRef> out = new ArrayList<>();
        for (JsonNode a : list) {
            out.add(new ArtifactRef(text(a, "name"), text(a, "path"), text(a, "sha256"), a.path("size_bytes").asLong(),
                    text(a, "kind")));
        }
        return out;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
