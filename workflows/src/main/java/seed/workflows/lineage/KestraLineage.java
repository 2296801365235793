package seed.workflows.lineage;

import io.kestra.core.runners.RunContext;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import seed.workflows.store.ArtifactStore;

/**
 * Lineage for Seed's Kestra tasks: builds the {@link TaskRunRecord} of the running task from its Kestra run context
 * (execution, parent execution of a subflow, flow and revision, task, task run, attempt, the {@code launched-by}
 * label) and records it with the JVM's shared recorder for the flow's database and Kafka (the engine's globals
 * {@code jdbc.*}, {@code kafka.bootstrap}, {@code annotation.data}). The signing key and the OpenLineage file live in
 * the annotation data folder, where {@code seed lineage} and the auditor page look for them.
 */
public final class KestraLineage {

    private KestraLineage() {
    }

    /** An open task run: call exactly one of {@link #succeeded} or {@link #failed}. */
    public static final class Recording {
        private final Lineage lineage;
        private final TaskRunRecord start;

        private Recording(Lineage lineage, TaskRunRecord start) {
            this.lineage = lineage;
            this.start = start;
        }

        /**
         * The ledger the artifact store checks a completed folder against before reusing it, or null when this task
         * run is not recorded (no database: the store then trusts done.json, as there is no lineage to launder into).
         */
        public ArtifactStore.Ledger ledger() {
            if (lineage == null) {
                return null;
            }
            return key -> lineage.recorded(key.stage(), key.sha256());
        }

        /** The end record: SUCCESS with the outputs (store entries) and metrics, and the snapshot if one was made. */
        public void succeeded(Map<String, ArtifactStore.Stored> outputs, Map<String, Object> metrics, Long snapshotId) {
            if (lineage == null) {
                return;
            }
            lineage.finished(start.withSnapshotId(snapshotId != null ? snapshotId : start.snapshotId())
                    .finish(TaskRunRecord.Status.SUCCESS, refs(start.stage(), outputs, true), metrics));
        }

        /** The end record of a run that threw: KILLED when it was cancelled, else FAILED with the error. */
        public void failed(Throwable error) {
            if (lineage == null) {
                return;
            }
            boolean killed = error instanceof CancellationException || error instanceof InterruptedException
                    || Thread.currentThread().isInterrupted();
            lineage.finished(start.finish(killed ? TaskRunRecord.Status.KILLED : TaskRunRecord.Status.FAILED,
                    List.of(), Map.of("error", String.valueOf(error))));
        }
    }

    /**
     * Records the start of the running task, or returns a no-op recording when the engine gave the flow no database
     * (a task run outside Seed's host, e.g. a plugin unit test).
     */
    public static Recording begin(RunContext rc, String stage, Map<String, Object> settings,
            Map<String, ArtifactStore.Stored> inputs) {
        return begin(rc, stage, settings, inputs, null);
    }

    /** {@link #begin} for a run at an artifact store address (recorded, so reuse can be checked against it). */
    public static Recording begin(RunContext rc, String stage, Map<String, Object> settings,
            Map<String, ArtifactStore.Stored> inputs, String storeKey) {
        Map<String, Object> vars = rc.getVariables();
        String jdbcUrl = text(vars, "globals", "jdbc", "url");
        java.util.Optional<Lineage> hosted = Lineage.local();
        if (hosted.isEmpty() && (jdbcUrl == null || jdbcUrl.isBlank())) {
            rc.logger().warn("lineage: no globals.jdbc.url, this task run is not recorded");
            return new Recording(null, null);
        }
        Lineage lineage = hosted.isPresent() ? hosted.get() : fromGlobals(vars, jdbcUrl);
        String launchedBy = text(vars, "labels", "launched-by");
        if ("trigger".equals(launchedBy)) { // a run started by a trigger: the flows pass "trigger" down to subflows
            String by = text(vars, "trigger", "flowId");
            launchedBy = "trigger:" + (by != null ? by : text(vars, "flow", "id"));
        }
        String parent = text(vars, "trigger", "executionId");
        String revision = text(vars, "flow", "revision");
        String attempts = text(vars, "taskrun", "attemptsCount");
        TaskRunRecord start = TaskRunRecord.started(text(vars, "execution", "id"), parent, text(vars, "flow", "namespace"),
                text(vars, "flow", "id"), revision == null ? 0 : Integer.parseInt(revision), text(vars, "task", "id"),
                text(vars, "taskrun", "id"), stage, launchedBy != null ? launchedBy
                        : parent != null ? "execution:" + parent : "trigger:" + text(vars, "flow", "id"),
                attempt(attempts), System.getProperty("seed.device", "cpu"), settings, refs(stage, inputs, false), null)
                .withStoreKey(storeKey);
        lineage.started(start);
        return new Recording(lineage, start);
    }

    /** The JVM's shared recorder for the services named in the flow's globals (a worker without a local host). */
    private static Lineage fromGlobals(Map<String, Object> vars, String jdbcUrl) {
        Path dataDir = Path.of(text(vars, "globals", "annotation", "data"));
        String openLineageUrl = System.getenv("SEED_OPENLINEAGE_URL");
        return Lineage.shared(new Lineage.Config(jdbcUrl, blankToNull(text(vars, "globals", "jdbc", "user")),
                blankToNull(text(vars, "globals", "jdbc", "password")),
                blankToNull(text(vars, "globals", "kafka", "bootstrap")), Lineage.defaultKeyDir(dataDir),
                dataDir.resolve("openlineage.jsonl"),
                openLineageUrl == null || openLineageUrl.isBlank() ? null : URI.create(openLineageUrl)));
    }

    /** Kestra's {@code taskrun.attemptsCount} counts the attempts before this one (0 on the first): attempt = count + 1. */
    static int attempt(String attemptsCount) {
        return (attemptsCount == null ? 0 : Integer.parseInt(attemptsCount)) + 1;
    }

    static List<ArtifactRef> refs(String stage, Map<String, ArtifactStore.Stored> stored, boolean output) {
        List<ArtifactRef> out = new ArrayList<>();
        for (Map.Entry<String, ArtifactStore.Stored> e : new LinkedHashMap<>(stored).entrySet()) {
            ArtifactStore.Stored s = e.getValue();
            out.add(new ArtifactRef(e.getKey(), Path.of(s.path()).toAbsolutePath().normalize().toString(), s.sha256(),
                    s.sizeBytes(), kind(stage, e.getKey(), output)));
        }
        return out;
    }

    /** The artifact kind from the stage, the task's name for it and whether the stage wrote or read it. */
    static String kind(String stage, String name, boolean output) {
        return switch (name) {
            case "corpus" -> "corpus";
            case "data", "ptx_data" -> "dataset";
            case "prompts", "heldOutPrompts", "held_out_prompts" -> "prompts";
            case "candidates" -> "candidates";
            case "items" -> "annotation_items";
            case "snapshot", "rankings" -> "snapshot";
            case "reward" -> "reward_model";
            case "metrics" -> "metrics";
            case "chart", "report", "reward_chart", "kl_chart" -> "report";
            case "model" -> stage.equals("reward") && output ? "reward_model" : "checkpoint";
            case "policy" -> stage.equals("rlhf") && output ? "policy" : "checkpoint";
            case "base", "checkpoint", "sft" -> "checkpoint";
            default -> "file";
        };
    }

    /** A variable by path; Kestra nests dotted global names ({@code jdbc.url}), a flat key is accepted too. */
    @SuppressWarnings("unchecked")
    private static String text(Map<String, Object> vars, String... path) {
        Object v = vars;
        for (int i = 0; i < path.length; i++) {
            if (!(v instanceof Map<?, ?> m)) {
                return null;
            }
            Object next = ((Map<String, Object>) m).get(path[i]);
            if (next == null && i < path.length - 1) {
                next = ((Map<String, Object>) m).get(String.join(".", java.util.Arrays.copyOfRange(path, i, path.length)));
                return next == null ? null : String.valueOf(next);
            }
            v = next;
        }
        return v == null ? null : String.valueOf(v);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
