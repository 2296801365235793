package seed.workflows.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The inputs of Seed's flows, read from the flow YAML shipped in the jar without starting anything. It exists so an
 * operator learns every input problem at once and in seconds: {@code seed flows} and {@code seed run --list-inputs}
 * print each input (name, type, default, bounds, description), and {@link #check} names every missing, unknown
 * (misspelt) or ill-typed input before Kafka, PostgreSQL or Kestra start. Kestra validates again when the run is
 * created; this is the fast, complete first pass, not a replacement.
 */
public final class FlowInputs {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One declared input of a flow. */
    public record Input(String id, String type, Object defaults, boolean required, Number min, Number max,
            List<String> values, String description) {

        /** "INT, default 300, >= 1" style summary of the type and bounds. */
        public String describeType() {
            StringBuilder sb = new StringBuilder(type.toLowerCase());
            if (values != null && !values.isEmpty()) {
                sb.append(' ').append(String.join("|", values));
            }
            if (min != null) {
                sb.append(", >= ").append(min);
            }
            if (max != null) {
                sb.append(", <= ").append(max);
            }
            return sb.toString();
        }
    }

    /** A flow's id, description and inputs in declaration order. */
    public record FlowSpec(String id, String description, List<Input> inputs) {

        public Input input(String name) {
            return inputs.stream().filter(i -> i.id().equals(name)).findFirst().orElse(null);
        }
    }

    private FlowInputs() {
    }

    /** Every Seed flow, in {@link SeedEngine#FLOW_FILES} order. */
    public static List<FlowSpec> all() {
        List<FlowSpec> out = new ArrayList<>();
        for (String f : SeedEngine.FLOW_FILES) {
            out.add(of(f.substring(0, f.length() - ".yaml".length())));
        }
        return out;
    }

    /** The flow {@code seed.x} (or {@code x}); an unknown id is an error naming the known ones. */
    public static FlowSpec of(String flowId) {
        String id = flowId.startsWith(SeedEngine.NAMESPACE + ".") ? flowId : SeedEngine.NAMESPACE + "." + flowId;
        try (InputStream in = FlowInputs.class.getResourceAsStream("/flows/" + id + ".yaml")) {
            if (in == null) {
                throw new IllegalArgumentException("unknown flow '" + flowId + "'; Seed's flows are "
                        + SeedEngine.FLOW_FILES.stream().map(f -> f.replace(".yaml", "")).toList());
            }
            JsonNode root = YAML.readTree(in);
            List<Input> inputs = new ArrayList<>();
            for (JsonNode n : root.path("inputs")) {
                List<String> values = new ArrayList<>();
                n.path("values").forEach(v -> values.add(v.asText()));
                Object defaults = n.has("defaults") ? YAML.convertValue(n.get("defaults"), Object.class) : null;
                boolean required = n.path("required").asBoolean(true) && defaults == null;
                inputs.add(new Input(n.path("id").asText(), n.path("type").asText("STRING"), defaults, required,
                        n.hasNonNull("min") ? n.get("min").numberValue() : null,
                        n.hasNonNull("max") ? n.get("max").numberValue() : null, values,
                        n.path("description").asText("").strip()));
            }
            return new FlowSpec(id, root.path("description").asText("").strip(), inputs);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read flow " + id + " from the jar: " + e.getMessage(), e);
        }
    }

    /**
     * Every problem with {@code given} for {@code flow} at once: missing required inputs, unknown names (with the
     * closest known one), values of the wrong type or out of bounds. Empty when the inputs are acceptable.
     */
    public static List<String> problems(FlowSpec flow, Map<String, ?> given) {
        List<String> out = new ArrayList<>();
        List<String> missing = flow.inputs().stream().filter(Input::required)
                .filter(i -> given.get(i.id()) == null || given.get(i.id()).toString().isEmpty()).map(Input::id).toList();
        if (!missing.isEmpty()) {
            out.add("missing required input" + (missing.size() > 1 ? "s " : " ") + String.join(", ", missing));
        }
        for (Map.Entry<String, ?> e : given.entrySet()) {
            Input in = flow.input(e.getKey());
            if (in == null) {
                String near = closest(e.getKey(), flow.inputs().stream().map(Input::id).toList());
                out.add("unknown input '" + e.getKey() + "'" + (near != null ? " (did you mean '" + near + "'?)" : ""));
                continue;
            }
            if (e.getValue() != null) {
                String bad = in.type().equals("JSON") ? jsonProblem(flow.id(), in, e.getValue())
                        : typeProblem(in, e.getValue().toString());
                if (bad != null) {
                    out.add(bad);
                }
            }
        }
        return out;
    }

    /** Throws one {@link IllegalArgumentException} naming every problem, and how to list the inputs. */
    public static void check(String flowId, Map<String, ?> given) {
        FlowSpec flow = of(flowId);
        List<String> problems = problems(flow, given);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid inputs for " + flow.id() + ": " + String.join("; ", problems)
                    + " (seed run --flow " + flow.id() + " --list-inputs lists them)");
        }
    }

    /**
     * JSON inputs whose content Seed checks before the run: the curation settings (every name and type, as the
     * {@code Curate} task would refuse them only once its worker runs). Keyed by flow id and input id.
     */
    private static final Map<String, java.util.function.Consumer<Map<String, Object>>> JSON_CHECKS = Map.of(
            "seed.curate/settings", seed.stages.curate.CurateSettings::ofTyped,
            "seed.three-stage/curate_settings", seed.stages.curate.CurateSettings::ofTyped);

    /** A JSON input's problem: text that is not JSON, or (for {@link #JSON_CHECKS}) content Seed refuses. */
    @SuppressWarnings("unchecked")
    private static String jsonProblem(String flowId, Input in, Object value) {
        Object parsed = value;
        if (value instanceof String text) {
            try {
                parsed = JSON.readValue(text, Object.class);
            } catch (IOException ex) {
                return in.id() + "=" + text + " is not JSON";
            }
        }
        java.util.function.Consumer<Map<String, Object>> check = JSON_CHECKS.get(flowId + "/" + in.id());
        if (check == null) {
            return null;
        }
        if (!(parsed instanceof Map<?, ?> map)) {
            return in.id() + " must be a JSON map, got " + value;
        }
        try {
            check.accept((Map<String, Object>) map);
            return null;
        } catch (IllegalArgumentException ex) {
            return in.id() + ": " + ex.getMessage();
        }
    }

    private static String typeProblem(Input in, String v) {
        try {
            switch (in.type()) {
                case "INT" -> {
                    long x = Long.parseLong(v.strip());
                    if (in.min() != null && x < in.min().doubleValue() || in.max() != null && x > in.max().doubleValue()) {
                        return in.id() + "=" + v + " is out of bounds (" + in.describeType() + ")";
                    }
                }
                case "FLOAT" -> {
                    double x = Double.parseDouble(v.strip());
                    if (in.min() != null && x < in.min().doubleValue() || in.max() != null && x > in.max().doubleValue()) {
                        return in.id() + "=" + v + " is out of bounds (" + in.describeType() + ")";
                    }
                }
                case "BOOLEAN" -> {
                    if (!v.equalsIgnoreCase("true") && !v.equalsIgnoreCase("false")) {
                        return in.id() + "=" + v + " is not true or false";
                    }
                }
                case "SELECT" -> {
                    if (!in.values().contains(v)) {
                        return in.id() + "=" + v + " is not one of " + in.values();
                    }
                }
                case "DURATION" -> Duration.parse(v.strip());
                default -> {
                    // STRING and the rest: any text
                }
            }
            return null;
        } catch (RuntimeException e) {
            return in.id() + "=" + v + " is not a " + in.type().toLowerCase()
                    + (in.type().equals("DURATION") ? " (ISO-8601, e.g. PT10M)" : "");
        }
    }

    /** The known name within edit distance 2 of {@code name}, if one is. */
    static String closest(String name, List<String> known) {
        String best = null;
        int bestD = 3;
        for (String k : known) {
            int d = distance(name, k);
            if (d < bestD) {
                bestD = d;
                best = k;
            }
        }
        return best;
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1),
                        prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** The inputs as a printable table (used by {@code seed flows} and {@code --list-inputs}). */
    public static String table(FlowSpec flow) {
        StringBuilder sb = new StringBuilder(flow.id()).append('\n');
        for (Input i : flow.inputs()) {
            sb.append(String.format("  %-24s %-28s %-14s %s%n", i.id(), i.describeType(),
                    i.required() ? "required" : "default " + i.defaults(), i.description()));
        }
        return sb.toString();
    }

    /** JSON-ready form (the operator API's {@code GET /api/flows}). */
    public static Map<String, Object> json(FlowSpec flow) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", flow.id());
        m.put("description", flow.description());
        List<Map<String, Object>> ins = new ArrayList<>();
        for (Input i : flow.inputs()) {
            Map<String, Object> im = new LinkedHashMap<>();
            im.put("name", i.id());
            im.put("type", i.type());
            im.put("required", i.required());
            im.put("default", i.defaults());
            im.put("min", i.min());
            im.put("max", i.max());
            im.put("values", i.values().isEmpty() ? null : i.values());
            im.put("description", i.description());
            ins.add(im);
        }
        m.put("inputs", ins);
        return m;
    }
}
