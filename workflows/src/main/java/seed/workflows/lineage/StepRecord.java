package seed.workflows.lineage;

import java.util.Map;

/**
 * What one pipeline step did: its settings, the artifacts it read and wrote (with hashes), its headline metrics and
 * when it ran. One entry of a run's {@code run.json}; the unit an auditor traces a checkpoint through.
 */
public record StepRecord(String name, String startedAt, String finishedAt, double seconds, Map<String, Object> settings,
        Map<String, Artifact> inputs, Map<String, Artifact> outputs, Map<String, Object> metrics) {
}
