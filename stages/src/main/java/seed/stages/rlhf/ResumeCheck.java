package seed.stages.rlhf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Compares the settings a checkpoint was written with to the settings of the run that wants to resume it, so a
 * resume with other steps, batch, seed or shape is refused with the names of what changed instead of silently
 * continuing a different run. Used by the RL and the reward-model trainers.
 */
public final class ResumeCheck {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ResumeCheck() {
    }

    /**
     * Leaf-by-leaf differences {@code "a.b: saved -> now"}, settings added ({@code (none) -> now}) and dropped
     * ({@code saved -> (none)}) included; {@code now} is normalised through JSON text first.
     */
    public static List<String> differences(JsonNode saved, JsonNode now) {
        try {
            // through JSON text, so numbers compare as they were written (a float read back is a double)
            return differences(saved, JSON.readTree(JSON.writeValueAsString(now)), "");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> differences(JsonNode saved, JsonNode now, String prefix) {
        List<String> out = new ArrayList<>();
        Iterator<String> names = now.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            JsonNode a = saved.get(name);
            JsonNode b = now.get(name);
            String path = prefix.isEmpty() ? name : prefix + "." + name;
            if (a != null && a.isObject() && b.isObject()) {
                out.addAll(differences(a, b, path));
            } else if (a == null || !a.equals(b)) {
                out.add(path + ": " + (a == null ? "(none)" : a.toString()) + " -> " + b);
            }
        }
        // a setting the checkpoint was written with that the resuming run no longer has is a difference too
        Iterator<String> savedNames = saved.fieldNames();
        while (savedNames.hasNext()) {
            String name = savedNames.next();
            if (!now.has(name)) {
                out.add((prefix.isEmpty() ? name : prefix + "." + name) + ": " + saved.get(name) + " -> (none)");
            }
        }
        return out;
    }

    /** Fails naming every difference; {@code what} names the run folder. */
    public static void requireSame(JsonNode saved, JsonNode now, Object what) {
        List<String> changed = differences(saved, now);
        if (!changed.isEmpty()) {
            throw new IllegalArgumentException("cannot resume " + what + ": the settings differ from the checkpoint's ("
                    + String.join(", ", changed) + "); run with the same settings, or use a new --out");
        }
    }
}
