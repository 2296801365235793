package seed.workflows.tasks;

import com.fasterxml.jackson.annotation.JsonIgnore;
import io.kestra.core.models.property.Property;
import io.kestra.core.models.tasks.Output;
import io.kestra.core.models.tasks.RunnableTask;
import io.kestra.core.models.tasks.Task;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import lombok.AccessLevel;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.workflows.lineage.KestraLineage;
import seed.workflows.store.ArtifactStore;

/**
 * What every Seed task shares: the artifact store (reuse by inputs and settings), stage progress lines routed into
 * the task's Kestra logger, and cancellation (Kestra's kill interrupts the stage's thread, and the stages stop between
 * steps). Subclasses only render their inputs and call a stage's library API.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
public abstract class SeedTask<O extends Output> extends Task implements RunnableTask<O> {

    @Schema(title = "Root of the artifact store", description = "A local folder by default; a path on shared storage "
            + "when workers run on several machines.")
    @Builder.Default
    protected Property<String> store = Property.ofExpression("{{ globals.store }}");

    @JsonIgnore
    @Getter(AccessLevel.NONE)
    @ToString.Exclude
    @EqualsAndHashCode.Exclude
    private transient volatile Thread runningOn;

    /** The work of a stage in its own work folder: returns its outputs (paths) and metrics. */
    @FunctionalInterface
    protected interface StageBody {
        StageOutcome run(Path workDir, PrintStream console) throws Exception;
    }

    /** What a stage produced. */
    protected record StageOutcome(Map<String, Path> outputs, Map<String, Object> metrics) {
    }

    /** A stage run, fresh or reused ({@code producer}: the ledger record that made the reused artifacts, or null). */
    protected record Result(ArtifactStore.Done done, boolean reused, ArtifactStore.Recorded producer) {

        Result(ArtifactStore.Done done, boolean reused) {
            this(done, reused, null);
        }

        public String path(String output) {
            return done.outputs().get(output).path();
        }

        public String sha256(String output) {
            return done.outputs().get(output).sha256();
        }

        public Object metric(String name) {
            return done.metrics().get(name);
        }
    }

    @Override
    public final O run(RunContext runContext) throws Exception {
        runningOn = Thread.currentThread();
        try {
            return execute(runContext);
        } finally {
            runningOn = null;
        }
    }

    /**
     * True for a stage that trains (records gradients): it runs under {@link TrainingGate}, one such stage at a time in
     * this process, because DJL allows one gradient collector per process.
     */
    protected boolean recordsGradients() {
        return false;
    }

    /** The task's body: render inputs, call {@link #stage}, build the output. */
    protected abstract O execute(RunContext runContext) throws Exception;

    /** Kestra calls this on cancel: the stage's thread is interrupted and stops at its next step boundary. */
    @Override
    public void kill() {
        Thread t = runningOn;
        if (t != null) {
            t.interrupt();
        }
    }

    /**
     * Runs {@code body} in the store folder addressed by (stage, settings, input hashes), or reuses that folder's
     * outputs when an earlier run completed there and they still hash the same.
     */
    protected Result stage(RunContext rc, String stage, Map<String, Object> settings, Map<String, Path> inputs,
            StageBody body) throws Exception {
        ArtifactStore store = ArtifactStore.at(Path.of(required(rc, this.store, "store")));
        ArtifactStore.Key key = store.key(stage, settings, inputs);
        // lineage (issue 8): every stage run, fresh or reused, is a signed record of its inputs, settings and outputs
        KestraLineage.Recording lineage = KestraLineage.begin(rc, stage, settings, key.inputs(), key.sha256());
        Result result;
        try {
            result = runOrReuse(rc, stage, store, key, lineage.ledger(), body);
        } catch (IllegalArgumentException e) {
            recordEnd(rc, stage, lineage, e);
            throw inFlowTerms(e);
        } catch (Exception | Error e) {
            recordEnd(rc, stage, lineage, e);
            throw e;
        }
        Map<String, Object> metrics = new java.util.LinkedHashMap<>(result.done().metrics());
        metrics.put("reused", result.reused());
        if (result.producer() != null) {
            // a reused stage's record points at the record that produced its artifacts (seq and hash)
            metrics.put(REUSED_FROM, result.producer().reference());
        }
        lineage.succeeded(result.done().outputs(), metrics, null);
        return result;
    }

    /**
     * Records a stage's failed or cancelled end. A cancelled task's thread is interrupted (Kestra's kill, or the
     * engine stopping on SIGTERM), and the record's writes block on PostgreSQL and Kafka, which refuse to wait on an
     * interrupted thread ("Interrupted during connection acquisition"): the interrupt is set aside while recording,
     * the run is recorded as cancelled, and the interrupt is restored. A recording that still fails never hides the
     * stage's own error.
     */
    private static void recordEnd(RunContext rc, String stage, KestraLineage.Recording lineage, Throwable e) {
        boolean interrupted = Thread.interrupted();
        try {
            Throwable why = e;
            if (interrupted && !(e instanceof java.util.concurrent.CancellationException)
                    && !(e instanceof InterruptedException)) {
                why = new java.util.concurrent.CancellationException("cancelled: " + e);
                why.initCause(e);
            }
            lineage.failed(why);
            rc.logger().info("{}: lineage recorded the end of this run ({})", stage, why.getClass().getSimpleName());
        } catch (RuntimeException recording) {
            rc.logger().warn("{}: lineage could not record the end of this run: {}", stage, recording.toString());
            e.addSuppressed(recording);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The metric of a reused stage's lineage record naming the record that produced its artifacts. */
    public static final String REUSED_FROM = "reused_from";

    private static final java.util.regex.Pattern FLAG =
            java.util.regex.Pattern.compile("--([a-z]+(?:-[a-z]+)*)(?: ([\\w.]+))?");

    /**
     * The stage libraries explain a refusal in their command line's words ("pass --truncate-response right"); in a
     * flow run the operator sets flow inputs instead, so the message names them ("truncate_response=right").
     */
    static IllegalArgumentException inFlowTerms(IllegalArgumentException e) {
        String m = e.getMessage();
        if (m == null || !m.contains("--")) {
            return e;
        }
        java.util.regex.Matcher x = FLAG.matcher(m);
        StringBuilder sb = new StringBuilder();
        while (x.find()) {
            String input = x.group(1).replace('-', '_');
            x.appendReplacement(sb, java.util.regex.Matcher.quoteReplacement(
                    x.group(2) == null ? "the input " + input : input + "=" + x.group(2)));
        }
        x.appendTail(sb);
        return new IllegalArgumentException(sb.toString(), e);
    }

    private Result runOrReuse(RunContext rc, String stage, ArtifactStore store, ArtifactStore.Key key,
            ArtifactStore.Ledger ledger, StageBody body) throws Exception {
        // issue 18: with a ledger, a folder is reused only while its bytes match what the ledger recorded there
        Optional<ArtifactStore.Done> earlier = store.done(key, ledger);
        if (earlier.isPresent()) {
            ArtifactStore.Recorded producer = ledger == null ? null : ledger.recorded(key).orElse(null);
            rc.logger().info("{}: reusing {} (same inputs and settings, outputs verified by SHA-256){}", stage,
                    store.workDir(key), producer == null ? "" : ", produced by " + producer.record());
            return new Result(earlier.get(), true, producer);
        }
        Path dir = store.workDir(key);
        // one live writer per stage folder: a copy of this task resubmitted while the first still runs is refused
        try (ArtifactStore.WriterLock writing = store.lockForWriting(key, "execution " + executionId(rc) + ", task run "
                + taskRunId(rc))) {
            Optional<ArtifactStore.Done> meanwhile = store.done(key); // a copy that held the lock may have finished
            if (meanwhile.isPresent()) {
                rc.logger().info("{}: reusing {} (completed by another task run)", stage, dir);
                return new Result(meanwhile.get(), true, ledger == null ? null : ledger.recorded(key).orElse(null));
            }
            rc.logger().info("{}: running in {}", stage, dir);
            try (TrainingGate.Held gate = recordsGradients() ? TrainingGate.enter(stage + " (execution "
                    + executionId(rc) + ")", m -> rc.logger().info(m)) : () -> { };
                    PrintStream console = new LoggerPrintStream(rc.logger())) {
                StageOutcome outcome = body.run(dir, console);
                // a stage that returned because it was cancelled must never be recorded as complete
                seed.stages.control.Cancellation.check(stage);
                return new Result(store.complete(key, outcome.outputs(), outcome.metrics()), false);
            }
        }
    }

    /** The id of the execution this task runs in. */
    /** The id of this task run (for messages; "unknown" outside Kestra). */
    static String taskRunId(RunContext rc) {
        Object taskRun = rc.getVariables().get("taskrun");
        return taskRun instanceof Map<?, ?> m && m.get("id") != null ? m.get("id").toString() : "unknown";
    }

    protected static String executionId(RunContext rc) {
        Object execution = rc.getVariables().get("execution");
        if (execution instanceof Map<?, ?> m && m.get("id") != null) {
            return m.get("id").toString();
        }
        throw new IllegalStateException("no execution id in the task's context");
    }

    /** A rendered input that must be present. */
    protected static <T> T required(RunContext rc, Property<T> property, String name, Class<T> type) throws Exception {
        if (property == null) {
            throw new IllegalArgumentException("input '" + name + "' is required");
        }
        return rc.render(property).as(type).orElseThrow(() -> new IllegalArgumentException("input '" + name
                + "' is required"));
    }

    protected static String required(RunContext rc, Property<String> property, String name) throws Exception {
        String value = required(rc, property, name, String.class);
        if (value.isBlank()) {
            throw new IllegalArgumentException("input '" + name + "' is empty");
        }
        return value;
    }

    /** A rendered input with a default. */
    protected static <T> T optional(RunContext rc, Property<T> property, Class<T> type, T fallback) throws Exception {
        return property == null ? fallback : rc.render(property).as(type).orElse(fallback);
    }

    /**
     * A rendered list of ids ("{{ outputs.load.itemIds }}" renders as a JSON list); empty when the input is not given.
     * Numbers of any width are accepted, so a list Kestra parsed as integers still reads as longs.
     */
    protected static List<Long> longs(RunContext rc, Property<List<Long>> property, String name) throws Exception {
        if (property == null) {
            return List.of();
        }
        List<?> raw = rc.render(property).asList(Object.class);
        List<Long> out = new java.util.ArrayList<>(raw.size());
        for (Object o : raw) {
            if (o instanceof Number n) {
                out.add(n.longValue());
            } else {
                try {
                    out.add(Long.parseLong(String.valueOf(o).trim()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("input '" + name + "': '" + o + "' is not an id");
                }
            }
        }
        return out;
    }

    /** A path input that must exist. */
    protected static Path existing(RunContext rc, Property<String> property, String name) throws Exception {
        Path p = Path.of(required(rc, property, name));
        if (!java.nio.file.Files.exists(p)) {
            throw new IllegalArgumentException("input '" + name + "': " + p + " does not exist");
        }
        return p;
    }
}
