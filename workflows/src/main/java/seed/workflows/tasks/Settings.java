package seed.workflows.tasks;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import seed.stages.metrics.MetricsLog;
import seed.stages.train.TrainResult;

/** Settings records as plain maps (every field, for the store's address and the lineage) and common metrics. */
final class Settings {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Settings() {
    }

    /**
     * Every component of a settings record, by name, paths as strings; nested settings records (e.g. PpoSettings'
     * rollout, optimisation, ...) become nested maps, and {@code pathsToDrop} are dropped at any depth.
     */
    static Map<String, Object> of(Object settingsRecord, String... pathsToDrop) {
        Map<String, Object> m = new TreeMap<>(JSON.convertValue(settingsRecord,
                new TypeReference<Map<String, Object>>() { }));
        // inputs are addressed by their SHA-256 and the output folder by the address itself: paths stay out
        drop(m, List.of(pathsToDrop));
        return m;
    }

    @SuppressWarnings("unchecked")
    private static void drop(Map<String, Object> m, List<String> keys) {
        keys.forEach(m::remove);
        for (Object v : m.values()) {
            if (v instanceof Map<?, ?> nested) {
                drop((Map<String, Object>) nested, keys);
            }
        }
    }

    /** Final and first validation loss of a training run, from its metrics log. */
    static Map<String, Object> trainMetrics(TrainResult t) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("val_loss", t.valLoss());
        m.put("train_loss", t.trainLoss());
        m.put("steps", t.steps());
        m.put("tokens_per_s", t.medianTokensPerSecond());
        m.put("first_val_loss", firstValue(t.metrics(), "val_loss", t.valLoss()));
        return m;
    }

    static double firstValue(Path metricsFile, String key, double fallback) throws IOException {
        List<Map<String, Object>> rows = MetricsLog.read(metricsFile);
        for (Map<String, Object> row : rows) {
            if (row.get(key) instanceof Number n) {
                return n.doubleValue();
            }
        }
        return fallback;
    }
}
