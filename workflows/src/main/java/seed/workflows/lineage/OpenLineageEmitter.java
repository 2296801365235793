package seed.workflows.lineage;

import io.openlineage.client.OpenLineage;
import io.openlineage.client.OpenLineageClient;
import io.openlineage.client.transports.FileConfig;
import io.openlineage.client.transports.FileTransport;
import io.openlineage.client.transports.HttpConfig;
import io.openlineage.client.transports.HttpTransport;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Task runs as OpenLineage RunEvents through the official Java client: START when a task run starts, then COMPLETE,
 * FAIL or ABORT, to a JSONL file and, when configured, an OpenLineage HTTP endpoint (e.g. Marquez). The job is
 * {@code flowId.taskId} in the flow's namespace; the parent-run facet names the Kestra flow execution; every dataset
 * is a file whose version facet is its SHA-256. Run ids are name-based UUIDs of Kestra's ids (Kestra ids are not
 * UUIDs), so START and COMPLETE of one task run, and the parent facets of one execution, always agree.
 * OpenLineage is an export: a failing endpoint is logged, never fails the task (the PostgreSQL ledger is the record).
 */
final class OpenLineageEmitter implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(OpenLineageEmitter.class);
    static final URI PRODUCER = URI.create("https://github.com/seed-llm/seed/tree/main/workflows");

    private final OpenLineage ol = new OpenLineage(PRODUCER);
    private final List<OpenLineageClient> clients = new ArrayList<>();

    OpenLineageEmitter(Optional<Path> jsonl, Optional<URI> url) {
        jsonl.ifPresent(p -> {
            try {
                Path abs = p.toAbsolutePath();
                if (abs.getParent() != null) {
                    Files.createDirectories(abs.getParent());
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("OpenLineage file " + p + ": " + e.getMessage(), e);
            }
            clients.add(new OpenLineageClient(new FileTransport(new FileConfig(p.toAbsolutePath().toString()))));
        });
        url.ifPresent(u -> {
            HttpConfig cfg = new HttpConfig();
            cfg.setUrl(u);
            cfg.setTimeoutInMillis(5000);
            clients.add(new OpenLineageClient(new HttpTransport(cfg)));
        });
    }

    /** The OpenLineage run id of a Kestra id (execution or task run). */
    static UUID runId(String kestraId) {
        return UUID.nameUUIDFromBytes(("seed:kestra:" + kestraId).getBytes(StandardCharsets.UTF_8));
    }

    /** The OpenLineage run id of one attempt of a task run (Kestra keeps the task run id across retries). */
    static UUID attemptRunId(String taskRunId, int attempt) {
        return runId(taskRunId + "/attempt-" + attempt);
    }

    void emit(TaskRunRecord r, RuntimeInfo runtime) {
        if (clients.isEmpty()) {
            return;
        }
        OpenLineage.RunEvent event = event(r, runtime);
        for (OpenLineageClient c : clients) {
            try {
                c.emit(event);
            } catch (RuntimeException e) {
                log.warn("OpenLineage: could not emit {} of task run {}: {}", event.getEventType(), r.taskRunId(), e.toString());
            }
        }
    }

    OpenLineage.RunEvent event(TaskRunRecord r, RuntimeInfo runtime) {
        OpenLineage.RunEvent.EventType type = switch (r.status()) {
            case RUNNING -> OpenLineage.RunEvent.EventType.START;
            case SUCCESS -> OpenLineage.RunEvent.EventType.COMPLETE;
            case FAILED -> OpenLineage.RunEvent.EventType.FAIL;
            case KILLED -> OpenLineage.RunEvent.EventType.ABORT;
        };
        OpenLineage.ParentRunFacet parent = ol.newParentRunFacetBuilder()
                .run(ol.newParentRunFacetRun(runId(r.executionId())))
                .job(ol.newParentRunFacetJob(r.flowNamespace(), r.flowId()))
                .build();
        OpenLineage.RunFacet kestra = ol.newRunFacet();
        kestra.getAdditionalProperties().put("executionId", r.executionId());
        kestra.getAdditionalProperties().put("parentExecutionId", r.parentExecutionId());
        kestra.getAdditionalProperties().put("taskRunId", r.taskRunId());
        kestra.getAdditionalProperties().put("flowRevision", r.flowRevision());
        kestra.getAdditionalProperties().put("attempt", r.attempt());
        kestra.getAdditionalProperties().put("stage", r.stage());
        kestra.getAdditionalProperties().put("launchedBy", r.launchedBy());
        kestra.getAdditionalProperties().put("device", r.device());
        kestra.getAdditionalProperties().put("gitCommit", runtime.gitCommit());
        OpenLineage.RunFacetsBuilder facets = ol.newRunFacetsBuilder()
                .parent(parent)
                .processing_engine(ol.newProcessingEngineRunFacet(runtime.seedVersion(), "seed", runtime.seedVersion()))
                .put("seed_kestra", kestra);
        if (r.status() == TaskRunRecord.Status.FAILED && r.metrics().get("error") != null) {
            facets.errorMessage(ol.newErrorMessageRunFacet(String.valueOf(r.metrics().get("error")), "java", null));
        }
        List<OpenLineage.InputDataset> inputs = new ArrayList<>();
        for (ArtifactRef a : r.inputs()) {
            inputs.add(ol.newInputDatasetBuilder().namespace("file").name(a.path())
                    .facets(ol.newDatasetFacetsBuilder().version(ol.newDatasetVersionDatasetFacet(a.sha256())).build())
                    .build());
        }
        List<OpenLineage.OutputDataset> outputs = new ArrayList<>();
        for (ArtifactRef a : r.outputs()) {
            outputs.add(ol.newOutputDatasetBuilder().namespace("file").name(a.path())
                    .facets(ol.newDatasetFacetsBuilder().version(ol.newDatasetVersionDatasetFacet(a.sha256())).build())
                    .outputFacets(ol.newOutputDatasetOutputFacetsBuilder()
                            .outputStatistics(ol.newOutputStatisticsOutputDatasetFacet(null, a.sizeBytes(), null)).build())
                    .build());
        }
        ZonedDateTime when = (r.endedAt() != null ? r.endedAt() : r.startedAt()).atZone(ZoneOffset.UTC);
        return ol.newRunEventBuilder()
                .eventType(type)
                .eventTime(when)
                .run(ol.newRun(attemptRunId(r.taskRunId(), r.attempt()), facets.build()))
                .job(ol.newJobBuilder().namespace(r.flowNamespace()).name(r.flowId() + "." + r.taskId())
                        .facets(ol.newJobFacetsBuilder().jobType(ol.newJobTypeJobFacet("BATCH", "KESTRA", "TASK")).build())
                        .build())
                .inputs(inputs)
                .outputs(outputs)
                .build();
    }

    @Override
    public void close() {
        for (OpenLineageClient c : clients) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("OpenLineage: closing client: {}", e.toString());
            }
        }
    }
}
