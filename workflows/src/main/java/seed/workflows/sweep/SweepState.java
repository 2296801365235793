package seed.workflows.sweep;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import seed.stages.checkpoint.Checkpoints;

/**
 * Where a sweep stands: its settings, its rungs, and every trial run so far. Each rung reads it, adds the finished
 * runs, decides the next runs and writes it back atomically, so the sweep survives its driver (a Kestra task per rung,
 * or an in-process loop) and its report can be redrawn at any point.
 *
 * @param stage    the tuned stage (its flow runs each trial)
 * @param metric   the stage output compared (e.g. val_loss)
 * @param maximize true when a larger metric is better
 * @param plan     the rungs
 * @param configs  the settings, trial i = element i
 * @param runs     finished (or failed) trial runs, one per trial and rung
 */
public record SweepState(String stage, String metric, boolean maximize, SuccessiveHalving plan,
        List<Map<String, Object>> configs, List<Run> runs) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * One trial trained up to a rung.
     *
     * @param trial    index into the settings
     * @param rung     rung index
     * @param steps    the step the run stopped at
     * @param metric   the metric there (NaN: failed)
     * @param checkpoint the checkpoint folder (the next rung continues it)
     * @param computed optimizer steps this run computed itself (steps minus the resumed step when exact resume worked)
     * @param seconds  wall time of this run
     * @param params   the model's parameters (for {@code seed plan --fit})
     * @param tokens   training tokens seen up to this run's end
     * @param curve    (step, metric) points this run logged, for the chart
     */
    public record Run(int trial, int rung, int steps, double metric, String checkpoint, long computed, double seconds,
            long params, long tokens, List<double[]> curve) {
    }

    /**
     * A trial run to launch: trial {@code trial} continues {@code resumeFrom} (null at the first rung) to step
     * {@code stopAt} of a {@code steps}-step schedule with {@code settings}.
     */
    public record Pending(int trial, int rung, int stopAt, int steps, String resumeFrom, Map<String, Object> settings) {
    }

    public SweepState {
        configs = List.copyOf(configs);
        runs = List.copyOf(runs);
    }

    /**
     * A new sweep over {@code space}; {@code minSteps} 0 picks the stage's default rungs (the first after its warm-up;
     * one rung at the budget for a stage without exact resume, see {@link SweepStage#firstRung}).
     */
    public static SweepState start(String stage, String metric, boolean maximize, SearchSpace space, int eta,
            int maxSteps, int minSteps) {
        List<Map<String, Object>> configs = space.settings();
        SweepStage s = SweepStage.of(stage);
        return new SweepState(stage, metric, maximize, SuccessiveHalving.plan(configs.size(), eta, maxSteps,
                s.firstRung(minSteps, maxSteps), s.warmup()), configs, List.of());
    }

    /** The same sweep with these runs added. */
    public SweepState with(List<Run> finished) {
        List<Run> all = new ArrayList<>(runs);
        all.addAll(finished);
        return new SweepState(stage, metric, maximize, plan, configs, all);
    }

    /** The runs of rung {@code k}. */
    public List<Run> rung(int k) {
        return runs.stream().filter(r -> r.rung() == k).toList();
    }

    /** What rung {@code k} runs: every setting at rung 0, then the promoted trials of rung k-1 from their checkpoints. */
    public List<Pending> next(int k) {
        if (k >= plan.rungs().size()) {
            return List.of();
        }
        int stop = plan.rungs().get(k);
        int steps = plan.rungs().getLast();
        List<Pending> out = new ArrayList<>();
        if (k == 0) {
            for (int i = 0; i < configs.size(); i++) {
                out.add(new Pending(i, 0, stop, steps, null, configs.get(i)));
            }
            return out;
        }
        List<Run> previous = rung(k - 1);
        for (int trial : plan.promote(previous.stream().map(this::score).toList())) {
            Run from = previous.stream().filter(r -> r.trial() == trial).findFirst().orElseThrow();
            out.add(new Pending(trial, k, stop, steps, from.checkpoint(), configs.get(trial)));
        }
        return out;
    }

    private SuccessiveHalving.Score score(Run r) {
        return new SuccessiveHalving.Score(r.trial(), maximize ? -r.metric() : r.metric());
    }

    /** The best run of the highest rung reached (the setting the sweep recommends). */
    public Optional<Run> best() {
        int top = runs.stream().filter(r -> !Double.isNaN(r.metric())).mapToInt(Run::rung).max().orElse(-1);
        List<Integer> order = plan.promote(rung(top).stream().map(this::score).toList());
        return order.isEmpty() ? Optional.empty()
                : rung(top).stream().filter(r -> r.trial() == order.getFirst()).findFirst();
    }

    /** Optimizer steps computed by every run of the sweep. */
    public long computedSteps() {
        return runs.stream().mapToLong(Run::computed).sum();
    }

    /** Steps a full grid of these settings would compute (every setting trained to the budget). */
    public long gridSteps() {
        return (long) configs.size() * plan.rungs().getLast();
    }

    /** Reads a sweep written by {@link #write}, or empty when the file does not exist yet. */
    public static Optional<SweepState> read(Path file) throws IOException {
        return Files.exists(file) ? Optional.of(JSON.readValue(file.toFile(), SweepState.class)) : Optional.empty();
    }

    /** Writes the state atomically (a crashed driver leaves the previous state, never half a file). */
    public void write(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Checkpoints.writeAtomically(file, JSON.writeValueAsString(this));
    }

    /** Trial ids that reached rung {@code k} (for tests and the report). */
    public Set<Integer> trialsAt(int k) {
        Set<Integer> s = new HashSet<>();
        rung(k).forEach(r -> s.add(r.trial()));
        return s;
    }

    /** The settings of a trial as {@code name=value} lines' map, in the space's order. */
    public Map<String, Object> settingsOf(int trial) {
        return new LinkedHashMap<>(configs.get(trial));
    }
}
