package seed.workflows.lineage;

import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What one Kestra task run did, as the orchestrator knows it: the unit of Seed's lineage. A task records it twice
 * through {@link Lineage}: once when it starts (status RUNNING, no end, no outputs) and once when it ends (with its
 * outputs and metrics). The code version, JVM, DJL and libtorch versions are not part of it: {@link Lineage} adds
 * them itself ({@link RuntimeInfo}) so a task cannot get them wrong.
 *
 * @param executionId       the Kestra execution (the run)
 * @param parentExecutionId the execution that started this one as a subflow, or null
 * @param flowNamespace     e.g. "seed"
 * @param flowId            e.g. "seed.pretrain"
 * @param flowRevision      the flow's revision in Kestra
 * @param taskId            the task's id in the flow
 * @param taskRunId         Kestra's task run id
 * @param stage             pretrain, sft, candidates, annotate, snapshot, reward, rlhf, evaluate, ...
 * @param launchedBy        the operator's name from their token, or "trigger:ID" for a trigger
 * @param startedAt         when the attempt started
 * @param endedAt           when it ended; null while RUNNING
 * @param status            RUNNING at start; SUCCESS, FAILED or KILLED at the end
 * @param attempt           1 for the first attempt, 2 for the first retry, ...
 * @param device            "cpu", "gpu:0", ...
 * @param settings          every resolved setting including seeds (JSON-like values: strings, numbers, booleans,
 *                          lists, maps)
 * @param inputs            artifacts read
 * @param outputs           artifacts written (empty at start)
 * @param metrics           headline metrics (empty at start)
 * @param snapshotId        the preference snapshot this run wrote or read, linking it to its ranking events and
 *                          annotators in PostgreSQL; null for runs that touch no snapshot
 * @param storeKey          the artifact store address (SHA-256 of stage, settings and input hashes) the run computed
 *                          or reused its outputs at; null outside the store. The store reuses a folder only while its
 *                          bytes still hash as the ledger's first completed record of that address says, and verify
 *                          flags two records of one address that claim different outputs
 */
public record TaskRunRecord(String executionId, String parentExecutionId, String flowNamespace, String flowId,
        int flowRevision, String taskId, String taskRunId, String stage, String launchedBy, Instant startedAt,
        Instant endedAt, Status status, int attempt, String device, Map<String, Object> settings,
        List<ArtifactRef> inputs, List<ArtifactRef> outputs, Map<String, Object> metrics, Long snapshotId,
        String storeKey) {

    /** A task run's state; RUNNING only in the start record. */
    public enum Status { RUNNING, SUCCESS, FAILED, KILLED }

    public TaskRunRecord {
        require(executionId, "executionId");
        require(flowNamespace, "flowNamespace");
        require(flowId, "flowId");
        require(taskId, "taskId");
        require(taskRunId, "taskRunId");
        require(stage, "stage");
        require(launchedBy, "launchedBy");
        Objects.requireNonNull(startedAt, "startedAt");
        Objects.requireNonNull(status, "status");
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt must be >= 1, got " + attempt);
        }
        device = device == null || device.isBlank() ? "cpu" : device;
        settings = settings == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(settings)); // nulls allowed
        inputs = inputs == null ? List.of() : List.copyOf(inputs);
        outputs = outputs == null ? List.of() : List.copyOf(outputs);
        metrics = metrics == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(metrics));
    }

    private static void require(String value, String field) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("task run record: " + field + " is required");
        }
    }

    /** The start record of a task run: RUNNING, no end, no outputs or metrics yet. */
    public static TaskRunRecord started(String executionId, String parentExecutionId, String flowNamespace,
            String flowId, int flowRevision, String taskId, String taskRunId, String stage, String launchedBy,
            int attempt, String device, Map<String, Object> settings, List<ArtifactRef> inputs, Long snapshotId) {
        return new TaskRunRecord(executionId, parentExecutionId, flowNamespace, flowId, flowRevision, taskId, taskRunId,
                stage, launchedBy, Instant.now(), null, Status.RUNNING, attempt, device, settings, inputs, List.of(),
                Map.of(), snapshotId, null);
    }

    /** The end record of this run: same identity, settings and inputs, with its end, status, outputs and metrics. */
    public TaskRunRecord finish(Status finalStatus, List<ArtifactRef> producedOutputs, Map<String, Object> producedMetrics) {
        if (finalStatus == Status.RUNNING) {
            throw new IllegalArgumentException("a finished task run must be SUCCESS, FAILED or KILLED");
        }
        return new TaskRunRecord(executionId, parentExecutionId, flowNamespace, flowId, flowRevision, taskId, taskRunId,
                stage, launchedBy, startedAt, Instant.now(), finalStatus, attempt, device, settings, inputs,
                producedOutputs, producedMetrics, snapshotId, storeKey);
    }

    /** The same record naming a snapshot (e.g. once the snapshot task knows the id it created). */
    public TaskRunRecord withSnapshotId(Long id) {
        return new TaskRunRecord(executionId, parentExecutionId, flowNamespace, flowId, flowRevision, taskId, taskRunId,
                stage, launchedBy, startedAt, endedAt, status, attempt, device, settings, inputs, outputs, metrics, id,
                storeKey);
    }

    /** The same record at an artifact store address (see {@code storeKey}). */
    public TaskRunRecord withStoreKey(String key) {
        return new TaskRunRecord(executionId, parentExecutionId, flowNamespace, flowId, flowRevision, taskId, taskRunId,
                stage, launchedBy, startedAt, endedAt, status, attempt, device, settings, inputs, outputs, metrics,
                snapshotId, key);
    }

    /**
     * The same record with other inputs: a snapshot's end record names the items and candidates its rankings were
     * made on, which are known only once the snapshot exists.
     */
    public TaskRunRecord withInputs(List<ArtifactRef> in) {
        return new TaskRunRecord(executionId, parentExecutionId, flowNamespace, flowId, flowRevision, taskId, taskRunId,
                stage, launchedBy, startedAt, endedAt, status, attempt, device, settings, in, outputs, metrics,
                snapshotId, storeKey);
    }
}
