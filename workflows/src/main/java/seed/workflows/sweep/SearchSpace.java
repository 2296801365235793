package seed.workflows.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The settings a sweep tries, read from JSON (YAML flow inputs arrive as JSON too). Every parameter is one of:
 * a list of values (choices), {@code {"choices": [...]}}, {@code {"uniform": [lo, hi]}} or
 * {@code {"log_uniform": [lo, hi]}} (add {@code "integer": true} to round, and {@code "points": N} for a grid's
 * N evenly / log-evenly spaced values, 3 by default). {@code "method": "grid"} (default) tries every combination;
 * {@code "random"} draws {@code "samples"} settings with {@code "seed"}.
 *
 * <pre>{"method": "grid", "params": {"learning_rate": {"log_uniform": [3e-4, 1e-2]}, "d_model": [16, 32, 64]}}</pre>
 */
public final class SearchSpace {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One searched parameter. */
    sealed interface Param permits Choices, Range {
        String name();
    }

    record Choices(String name, List<Object> values) implements Param {
    }

    record Range(String name, double low, double high, boolean log, boolean integer, int points) implements Param {
    }

    private final List<Param> params;
    private final boolean random;
    private final int samples;
    private final long seed;

    private SearchSpace(List<Param> params, boolean random, int samples, long seed) {
        this.params = params;
        this.random = random;
        this.samples = samples;
        this.seed = seed;
    }

    /** Parses a space; every problem is named with the parameter it concerns. */
    public static SearchSpace parse(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException("search space is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("search space must be a JSON object with \"params\"");
        }
        JsonNode ps = root.path("params");
        if (!ps.isObject() || ps.isEmpty()) {
            throw new IllegalArgumentException("search space needs a non-empty \"params\" object");
        }
        String method = root.path("method").asText("grid");
        if (!method.equals("grid") && !method.equals("random")) {
            throw new IllegalArgumentException("search space \"method\" must be grid or random, got '" + method + "'");
        }
        List<Param> params = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = ps.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            params.add(param(e.getKey(), e.getValue()));
        }
        int samples = root.path("samples").asInt(0);
        if (method.equals("random") && samples <= 0) {
            throw new IllegalArgumentException("a random search space needs \"samples\" > 0");
        }
        return new SearchSpace(params, method.equals("random"), samples, root.path("seed").asLong(1));
    }

    private static Param param(String name, JsonNode v) {
        if (v.isArray()) {
            return choices(name, v);
        }
        if (v.isObject() && v.has("choices")) {
            return choices(name, v.get("choices"));
        }
        boolean log = v.has("log_uniform");
        JsonNode range = log ? v.get("log_uniform") : v.get("uniform");
        if (range == null || !range.isArray() || range.size() != 2 || !range.get(0).isNumber()
                || !range.get(1).isNumber()) {
            throw new IllegalArgumentException("parameter '" + name + "' must be a list of values, {\"choices\": [...]}, "
                    + "{\"uniform\": [lo, hi]} or {\"log_uniform\": [lo, hi]}");
        }
        double lo = range.get(0).asDouble();
        double hi = range.get(1).asDouble();
        if (!(lo < hi) || (log && lo <= 0)) {
            throw new IllegalArgumentException("parameter '" + name + "': range [" + lo + ", " + hi + "] must have lo < hi"
                    + (log ? " and lo > 0 (log-uniform)" : ""));
        }
        int points = v.path("points").asInt(3);
        if (points < 1) {
            throw new IllegalArgumentException("parameter '" + name + "': points must be >= 1, got " + points);
        }
        return new Range(name, lo, hi, log, v.path("integer").asBoolean(false), points);
    }

    private static Choices choices(String name, JsonNode list) {
        if (!list.isArray() || list.isEmpty()) {
            throw new IllegalArgumentException("parameter '" + name + "': choices must be a non-empty list");
        }
        List<Object> values = new ArrayList<>();
        list.forEach(x -> values.add(x.isIntegralNumber() ? (Object) x.asLong() : x.isNumber() ? (Object) x.asDouble()
                : x.isBoolean() ? (Object) x.asBoolean() : x.asText()));
        return new Choices(name, values);
    }

    /** The settings to try, in a fixed order (trial i is element i). */
    public List<Map<String, Object>> settings() {
        if (random) {
            SplittableRandom rnd = new SplittableRandom(seed);
            List<Map<String, Object>> out = new ArrayList<>();
            for (int i = 0; i < samples; i++) {
                Map<String, Object> s = new LinkedHashMap<>();
                for (Param p : params) {
                    s.put(p.name(), switch (p) {
                        case Choices c -> c.values().get(rnd.nextInt(c.values().size()));
                        case Range r -> value(r, r.log()
                                ? Math.exp(Math.log(r.low()) + rnd.nextDouble() * (Math.log(r.high()) - Math.log(r.low())))
                                : r.low() + rnd.nextDouble() * (r.high() - r.low()));
                    });
                }
                out.add(s);
            }
            return out;
        }
        List<Map<String, Object>> out = new ArrayList<>();
        out.add(new LinkedHashMap<>());
        for (Param p : params) {
            List<Object> values = switch (p) {
                case Choices c -> c.values();
                case Range r -> gridPoints(r);
            };
            List<Map<String, Object>> next = new ArrayList<>();
            for (Map<String, Object> partial : out) {
                for (Object v : values) {
                    Map<String, Object> s = new LinkedHashMap<>(partial);
                    s.put(p.name(), v);
                    next.add(s);
                }
            }
            out = next;
        }
        return out;
    }

    private static List<Object> gridPoints(Range r) {
        List<Object> values = new ArrayList<>();
        for (int i = 0; i < r.points(); i++) {
            double t = r.points() == 1 ? 0.5 : (double) i / (r.points() - 1);
            values.add(value(r, r.log() ? Math.exp(Math.log(r.low()) + t * (Math.log(r.high()) - Math.log(r.low())))
                    : r.low() + t * (r.high() - r.low())));
        }
        return values;
    }

    private static Object value(Range r, double x) {
        if (r.integer()) {
            return Math.round(x);
        }
        return Double.parseDouble(String.format("%.4g", x)); // 0.0030000000000000005 reads badly in a report
    }
}
