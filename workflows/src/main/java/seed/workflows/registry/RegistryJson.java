package seed.workflows.registry;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The registry's rows as the operator API sends them ({@code /api/models}) and as the commands and
 * {@link ServerModelSource} read them back: snake_case fields, times in ISO-8601, so both ends agree on one shape.
 */
public final class RegistryJson {

    private static final ObjectMapper JSON = new ObjectMapper();

    private RegistryJson() {
    }

    /** One history row (or alias) as a JSON object. */
    public static Map<String, Object> json(ModelRegistry.Entry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq", e.seq());
        m.put("alias", e.alias());
        m.put("model", e.modelId());
        m.put("action", e.action().name().toLowerCase(Locale.ROOT));
        m.put("sha256", e.sha256());
        m.put("path", e.path());
        m.put("previous_sha256", e.previousSha256());
        m.put("changed_by", e.changedBy());
        m.put("reason", e.reason());
        m.put("metrics", e.metrics());
        m.put("gates", e.gates());
        m.put("execution_id", e.executionId());
        m.put("lineage_task_run", e.lineageTaskRun());
        m.put("changed_at", e.changedAt().toString());
        return m;
    }

    /** {@code GET /api/models}'s body: the aliases and the history. */
    public static Map<String, Object> json(RegistryOperations.Listing l) {
        return Map.of("aliases", l.aliases().stream().map(RegistryJson::json).toList(),
                "history", l.history().stream().map(RegistryJson::json).toList());
    }

    /** A row read back from {@link #json(ModelRegistry.Entry)}. */
    public static ModelRegistry.Entry entry(JsonNode n) {
        return new ModelRegistry.Entry(n.path("seq").asLong(), n.path("alias").asText(),
                ModelRegistry.Action.valueOf(n.path("action").asText().toUpperCase(Locale.ROOT)),
                n.path("sha256").asText(), text(n, "path"), text(n, "previous_sha256"), text(n, "changed_by"),
                text(n, "reason"), map(n.get("metrics")), n.path("gates").isObject() ? map(n.get("gates")) : null,
                text(n, "execution_id"), text(n, "lineage_task_run"), Instant.parse(n.path("changed_at").asText()));
    }

    /** A listing read back from {@link #json(RegistryOperations.Listing)}. */
    public static RegistryOperations.Listing listing(JsonNode n) {
        return new RegistryOperations.Listing(entries(n.path("aliases")), entries(n.path("history")));
    }

    private static List<ModelRegistry.Entry> entries(JsonNode array) {
        List<ModelRegistry.Entry> out = new java.util.ArrayList<>();
        array.forEach(e -> out.add(entry(e)));
        return out;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static Map<String, Object> map(JsonNode n) {
        return n == null || !n.isObject() ? Map.of() : JSON.convertValue(n, new TypeReference<Map<String, Object>>() { });
    }
}
