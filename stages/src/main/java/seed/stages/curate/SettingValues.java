package seed.stages.curate;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The curation settings as named values: the overrides a user gave ({@code gopher_min_words=30}) read by each rule
 * family's settings record with its published default, and every value actually used recorded in order, so the
 * store address and the lineage record hold all of them, defaults included. An override no rule reads is refused.
 */
public final class SettingValues {

    private final Map<String, String> overrides;
    private final Map<String, Object> used = new LinkedHashMap<>();

    SettingValues(Map<String, String> overrides) {
        this.overrides = overrides;
    }

    /** Every setting and the value used, in a stable order. */
    Map<String, Object> used() {
        return used;
    }

    /** Refuses overrides that name no setting, listing the known names. */
    void requireAllKnown() {
        Set<String> unknown = new TreeSet<>(overrides.keySet());
        unknown.removeAll(used.keySet());
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown curate setting(s) " + unknown + "; known: "
                    + String.join(", ", used.keySet()));
        }
    }

    boolean bool(String name, boolean fallback) {
        String v = overrides.get(name);
        boolean value = fallback;
        if (v != null) {
            if (!v.equals("true") && !v.equals("false")) {
                throw new IllegalArgumentException("curate setting " + name + " must be true or false, got '" + v + "'");
            }
            value = v.equals("true");
        }
        used.put(name, value);
        return value;
    }

    int integer(String name, int fallback) {
        return parsed(name, fallback, Integer::parseInt, "an integer");
    }

    double number(String name, double fallback) {
        return parsed(name, fallback, Double::parseDouble, "a number");
    }

    /** The override of {@code name} read by {@code parser} (or the fallback), recorded as used. */
    private <T> T parsed(String name, T fallback, java.util.function.Function<String, T> parser, String kind) {
        String v = overrides.get(name);
        T value = fallback;
        if (v != null) {
            try {
                value = parser.apply(v.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("curate setting " + name + " must be " + kind + ", got '" + v + "'");
            }
        }
        used.put(name, value);
        return value;
    }

    String text(String name, String fallback) {
        String value = overrides.getOrDefault(name, fallback);
        used.put(name, value);
        return value;
    }
}
