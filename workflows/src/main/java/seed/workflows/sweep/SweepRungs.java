package seed.workflows.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import seed.workflows.engine.FlowInputs;

/**
 * What the {@code SweepRung} Kestra task does, as library code: reads the sweep's state, records the previous rung's
 * trial runs from the subflow outputs of the execution, decides this rung's trial runs with their complete stage-flow
 * inputs (every declared input, so the flow maps each by name), writes the state and the report.
 */
public final class SweepRungs {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SweepRungs() {
    }

    /** The sweep's inputs, as the flow gives them to every rung. */
    public record Request(String stage, SearchSpace space, JsonNode base, int budget, int minSteps, int reduction,
            String metric, boolean maximize, int concurrency, int maxRungs) {
    }

    /** This rung's trial runs in waves, and where the sweep stands. */
    public record Decision(int trials, int stopAt, List<List<Map<String, Object>>> waves, Map<String, Object> best,
            Map<String, Object> bestInputs, long sweepSteps, long gridSteps, Path report, Path csv) {
    }

    public static Decision decide(Request r, int k, JsonNode outputs, Path dir) throws IOException {
        if (r.concurrency() < 1) {
            throw new IllegalArgumentException("input 'concurrency' must be >= 1, got " + r.concurrency());
        }
        Path file = dir.resolve("state.json");
        SweepState state = SweepState.read(file).orElse(null);
        if (state == null) {
            if (k != 0) {
                throw new IllegalStateException("sweep rung " + k + ": no sweep state in " + dir + " (rung 0 writes it)");
            }
            state = SweepState.start(r.stage(), r.metric(), r.maximize(), r.space(), r.reduction(), r.budget(),
                    r.minSteps());
            if (state.plan().rungs().size() > r.maxRungs()) {
                throw new IllegalArgumentException("the sweep needs " + state.plan().rungs().size() + " rungs for "
                        + state.configs().size() + " settings at reduction " + r.reduction() + " but the flow has room "
                        + "for " + r.maxRungs() + ": raise min_steps or reduction, or search fewer settings");
            }
        }
        if (k > 0 && state.rung(k - 1).isEmpty()) {
            state = state.with(collect(state, k - 1, outputs));
        }
        FlowInputs.FlowSpec flow = FlowInputs.of(state.stage());
        List<SweepState.Pending> pending = state.next(k);
        List<Map<String, Object>> trials = new ArrayList<>();
        for (SweepState.Pending p : pending) {
            Map<String, Object> inputs = inputs(flow, r.base(), p);
            List<String> problems = FlowInputs.problems(flow, inputs);
            if (!problems.isEmpty()) {
                throw new IllegalArgumentException("sweep trial " + p.trial() + " (" + p.settings() + ") cannot run "
                        + flow.id() + ": " + String.join("; ", problems));
            }
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("trial", p.trial());
            t.put("rung", p.rung());
            t.put("inputs", inputs);
            trials.add(t);
        }
        List<List<Map<String, Object>>> waves = new ArrayList<>();
        for (int i = 0; i < trials.size(); i += r.concurrency()) {
            waves.add(trials.subList(i, Math.min(trials.size(), i + r.concurrency())));
        }
        state.write(file);
        SweepReport.Written w = SweepReport.write(state, dir);
        Map<String, Object> best = new LinkedHashMap<>();
        Map<String, Object> bestInputs = new LinkedHashMap<>();
        Optional<SweepState.Run> b = state.best();
        if (b.isPresent()) {
            best.putAll(state.configs().get(b.get().trial()));
            best.put("trial", b.get().trial());
            best.put(state.metric(), b.get().metric());
            best.put("checkpoint", b.get().checkpoint());
            best.put("steps", b.get().steps());
            bestInputs = inputs(flow, r.base(), toBudget(state, b.get()));
        }
        return new Decision(trials.size(), pending.isEmpty() ? 0 : pending.getFirst().stopAt(), waves, best,
                bestInputs, state.computedSteps(), state.gridSteps(), w.html(), w.csv());
    }

    /**
     * The stage run that gives the best trial trained to the full budget, so the next stage of a chain can take it
     * without recomputing a step: when the trial reached the budget, exactly the run it made (same settings, same
     * continued checkpoint: the stage's store reuses it); when it stopped earlier, a continuation of its checkpoint.
     */
    static SweepState.Pending toBudget(SweepState state, SweepState.Run best) {
        int budget = state.plan().rungs().getLast();
        String from = best.checkpoint();
        if (best.steps() >= budget) {
            from = best.rung() == 0 ? null : state.rung(best.rung() - 1).stream()
                    .filter(x -> x.trial() == best.trial()).findFirst().map(SweepState.Run::checkpoint).orElse(null);
        }
        return new SweepState.Pending(best.trial(), best.rung(), budget, budget, from,
                state.configs().get(best.trial()));
    }

    /**
     * The stage flow's inputs for one trial run: its declared defaults, then the sweep's fixed inputs, then the trial's
     * settings, the budget as {@code steps}, where to stop and which checkpoint to continue. An optional input without a
     * default is passed as "" (the flows treat it as absent).
     */
    static Map<String, Object> inputs(FlowInputs.FlowSpec flow, JsonNode base, SweepState.Pending p) {
        Map<String, Object> in = new LinkedHashMap<>();
        for (FlowInputs.Input i : flow.inputs()) {
            in.put(i.id(), i.defaults() == null ? "" : i.defaults());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = base.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            in.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : JSON.convertValue(e.getValue(),
                    Object.class));
        }
        in.putAll(p.settings());
        in.put("steps", p.steps());
        if (flow.input("stop_at") != null) { // a stage without exact resume runs every trial to the budget
            in.put("stop_at", p.stopAt());
            in.put("resume_from", p.resumeFrom() == null ? "" : p.resumeFrom());
        }
        return in;
    }

    /**
     * The runs of rung {@code k} from the execution's outputs: each trial's subflow output sits under the key of its
     * fan-out value (the trial's JSON, with "trial" and "rung"). A trial without a successful output is recorded as
     * failed (NaN), so it is never promoted and the sweep goes on.
     */
    static List<SweepState.Run> collect(SweepState state, int k, JsonNode outputs) throws IOException {
        Map<Integer, JsonNode> found = new LinkedHashMap<>();
        find(outputs, k, found);
        List<SweepState.Run> runs = new ArrayList<>();
        SweepStage stage = SweepStage.of(state.stage());
        for (SweepState.Pending p : state.next(k)) {
            JsonNode o = found.get(p.trial());
            JsonNode values = o == null ? null : o.path("outputs");
            boolean ok = o != null && (!o.has("state") || "SUCCESS".equals(o.path("state").asText()))
                    && values.path(state.metric()).isNumber() && values.path(stage.artifact()).isTextual();
            if (!ok) {
                runs.add(new SweepState.Run(p.trial(), k, p.stopAt(), Double.NaN, null, 0, 0, 0, 0, List.of()));
            } else {
                double metric = values.path(state.metric()).asDouble();
                Path artifact = Path.of(values.path(stage.artifact()).asText());
                runs.add(stage.resumable() ? TrialRuns.read(p.trial(), k, metric, artifact)
                        : TrialRuns.whole(p.trial(), k, p.stopAt(), metric, artifact));
            }
        }
        return runs;
    }

    private static void find(JsonNode node, int rung, Map<Integer, JsonNode> found) {
        if (!node.isObject()) {
            return;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().startsWith("{") && e.getValue().isObject() && e.getValue().has("outputs")) {
                try {
                    JsonNode key = JSON.readTree(e.getKey());
                    if (key.path("rung").asInt(-1) == rung && key.has("trial")) {
                        found.put(key.path("trial").asInt(), e.getValue());
                        continue;
                    }
                } catch (IOException notATrial) {
                    // another fan-out's key: keep looking below it
                }
            }
            find(e.getValue(), rung, found);
        }
    }
}
