package seed.workflows.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.kestra.core.models.executions.Execution;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import seed.workflows.engine.SeedEngine;

/**
 * A command relaunched in the work folder of a process that was killed mid-run. That run is still RUNNING in the
 * engine's database and Kestra resubmits its task from the dead worker to this one, so launching a second run beside
 * it trains every stage twice and the two collide on the stage folders. With the same inputs the relaunch continues
 * the run it left (its stages resume from their checkpoints); with other inputs the old run is cancelled first.
 */
final class Relaunch {

    private Relaunch() {
    }

    /** The run this work folder last launched, when it is of {@code flowId} and has not finished. */
    static Optional<Execution> unfinished(SeedEngine engine, Path work, String flowId) throws IOException {
        return Detach.lastLaunched(work).flatMap(engine::execution)
                .filter(e -> flowId.equals(e.getNamespace() + "." + e.getFlowId()))
                .filter(e -> !SeedEngine.finished(e));
    }

    /**
     * True when the run had these inputs, compared as canonical JSON: Kestra stores a JSON input given as text as a
     * list or map, and numbers in its own widths.
     */
    static boolean sameInputs(Execution e, Map<String, Object> inputs) {
        Map<String, Object> had = e.getInputs() == null ? Map.of() : e.getInputs();
        return inputs.entrySet().stream().allMatch(i -> Objects.equals(canonical(i.getValue()),
                canonical(had.get(i.getKey()))));
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private static String canonical(Object value) {
        try {
            Object v = value;
            if (value instanceof String s && (s.startsWith("[") || s.startsWith("{"))) {
                v = JSON.readValue(s, Object.class);
            }
            return v instanceof String || v == null ? String.valueOf(v) : JSON.writeValueAsString(v);
        } catch (com.fasterxml.jackson.core.JsonProcessingException notJson) {
            return String.valueOf(value);
        }
    }

    /**
     * The run to follow: the unfinished one this folder left when its inputs are the same, else a new one (after
     * cancelling the unfinished one and waiting for it to end).
     */
    static Execution continueOrLaunch(SeedEngine engine, Path work, String flowId, Map<String, Object> inputs,
            String user) throws Exception {
        Optional<Execution> left = unfinished(engine, work, flowId);
        if (left.isPresent() && sameInputs(left.get(), inputs)) {
            System.err.println("seed: run " + left.get().getId() + " of " + work + " was left " + left.get().getState()
                    .getCurrent() + " by a process that stopped; continuing it (its stages resume from their "
                    + "checkpoints) instead of starting a second run beside it");
            return left.get();
        }
        if (left.isPresent()) {
            String id = left.get().getId();
            System.err.println("seed: run " + id + " of " + work + " was left unfinished with other inputs; "
                    + "cancelling it before the new run (the stages they share resume from the store)");
            engine.kill(id);
            engine.awaitTerminated(id, Duration.ofMinutes(5));
        }
        return engine.launch(flowId, inputs, user);
    }
}
