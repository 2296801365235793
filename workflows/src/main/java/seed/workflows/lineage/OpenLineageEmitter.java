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
    /** Seed's repository, for the source-code-location job facet. */
    static final String REPOSITORY = "https://github.com/seed-llm/seed";
    /**
     * Where Seed's own facet schemas are published: the same files ship in the jar under
     * {@code seed/openlineage/} ({@link #FACET_SCHEMAS}), so a consumer without network access can validate too.
     */
    static final String SCHEMA_BASE = REPOSITORY + "/blob/main/workflows/src/main/resources/seed/openlineage/";
    /** The classpath folder of Seed's facet schemas. */
    static final String FACET_SCHEMAS = "seed/openlineage/";

    /**
     * A Seed run facet whose {@code _schemaURL} names its own published schema (issue 18: the custom facet used to
     * point at the core RunFacet schema, which says nothing of its fields).
     */
    static final class SeedFacet extends OpenLineage.DefaultRunFacet {
        private final URI schemaUrl;

        SeedFacet(String schema, java.util.Map<String, Object> fields) {
            super(PRODUCER);
            this.schemaUrl = URI.create(SCHEMA_BASE + schema + ".json#/$defs/" + schema);
            getAdditionalProperties().putAll(fields);
        }

        @Override
        public URI get_schemaURL() {
            return schemaUrl;
        }
    }

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

    void emit(TaskRunRecord r, RuntimeInfo runtime, java.util.Map<String, Object> annotations) {
        if (clients.isEmpty()) {
            return;
        }
        send(event(r, runtime, annotations), "task run " + r.taskRunId());
    }

    private void send(OpenLineage.RunEvent event, String what) {
        for (OpenLineageClient c : clients) {
            try {
                c.emit(event);
            } catch (RuntimeException e) {
                log.warn("OpenLineage: could not emit {} of {}: {}", event.getEventType(), what, e.toString());
            }
        }
    }

    /** The root of a run's parent chain: the top-level execution (a subflow's parent, else the execution itself). */
    private OpenLineage.ParentRunFacetRoot root(String namespace, String rootExecutionId, String rootFlowId) {
        return ol.newParentRunFacetRoot(ol.newRootRun(runId(rootExecutionId)), ol.newRootJob(namespace, rootFlowId));
    }

    OpenLineage.RunEvent event(TaskRunRecord r, RuntimeInfo runtime, java.util.Map<String, Object> annotations) {
        OpenLineage.RunEvent.EventType type = switch (r.status()) {
            case RUNNING -> OpenLineage.RunEvent.EventType.START;
            case SUCCESS -> OpenLineage.RunEvent.EventType.COMPLETE;
            case FAILED -> OpenLineage.RunEvent.EventType.FAIL;
            case KILLED -> OpenLineage.RunEvent.EventType.ABORT;
        };
        // the root of Seed's runs is the top-level execution; a task run's recorded parent is its subflow's parent
        String rootExecution = r.parentExecutionId() != null ? r.parentExecutionId() : r.executionId();
        String rootFlow = r.parentExecutionId() != null ? ROOT_FLOW.getOrDefault(r.parentExecutionId(), r.flowId())
                : r.flowId();
        OpenLineage.ParentRunFacet parent = ol.newParentRunFacetBuilder()
                .run(ol.newParentRunFacetRun(runId(r.executionId())))
                .job(ol.newParentRunFacetJob(r.flowNamespace(), r.flowId()))
                .root(root(r.flowNamespace(), rootExecution, rootFlow))
                .build();
        java.util.Map<String, Object> k = new java.util.LinkedHashMap<>();
        k.put("executionId", r.executionId());
        k.put("parentExecutionId", r.parentExecutionId());
        k.put("rootExecutionId", rootExecution);
        k.put("taskRunId", r.taskRunId());
        k.put("flowRevision", r.flowRevision());
        k.put("attempt", r.attempt());
        k.put("stage", r.stage());
        k.put("launchedBy", r.launchedBy());
        k.put("device", r.device());
        k.put("gitCommit", runtime.gitCommit());
        k.put("storeKey", r.storeKey());
        OpenLineage.RunFacetsBuilder facets = ol.newRunFacetsBuilder()
                .parent(parent)
                .processing_engine(ol.newProcessingEngineRunFacet(runtime.seedVersion(), "seed", runtime.seedVersion()))
                .put("seed_kestra", new SeedFacet("SeedKestraRunFacet", k));
        if (!r.settings().isEmpty()) { // the client drops an empty map, which would leave the facet invalid
            facets.put("seed_settings", new SeedFacet("SeedSettingsRunFacet", java.util.Map.of("settings", r.settings())));
        }
        if (r.status() != TaskRunRecord.Status.RUNNING && !r.metrics().isEmpty()) {
            facets.put("seed_metrics", new SeedFacet("SeedMetricsRunFacet", java.util.Map.of("metrics", r.metrics())));
        }
        if (annotations != null) {
            java.util.Map<String, Object> a = new java.util.LinkedHashMap<>();
            a.put("snapshotId", annotations.get("snapshot_id"));
            a.put("snapshotSha256", annotations.get("snapshot_sha256"));
            a.put("rankings", annotations.get("rankings"));
            a.put("annotators", annotations.get("annotators"));
            a.put("meanKendallW", annotations.get("mean_kendall_w"));
            a.put("itemsWithAgreement", annotations.get("items_with_agreement"));
            a.put("candidateCheckpoints", annotations.get("candidate_checkpoints"));
            a.put("membersSha256", annotations.get("members_sha256"));
            facets.put("seed_annotations", new SeedFacet("SeedAnnotationsRunFacet", a));
        }
        if (r.status() == TaskRunRecord.Status.FAILED && r.metrics().get("error") != null) {
            facets.errorMessage(ol.newErrorMessageRunFacet(String.valueOf(r.metrics().get("error")), "java", null));
        }
        List<OpenLineage.InputDataset> inputs = new ArrayList<>();
        for (ArtifactRef a : r.inputs()) {
            inputs.add(ol.newInputDatasetBuilder().namespace("file").name(a.path())
                    .facets(ol.newDatasetFacetsBuilder().version(ol.newDatasetVersionDatasetFacet(a.sha256())).build())
                    .inputFacets(ol.newInputDatasetInputFacetsBuilder()
                            .inputStatistics(ol.newInputStatisticsInputDatasetFacet(null, a.sizeBytes(), null)).build())
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
                        .facets(jobFacets("TASK", r.flowId(), runtime)).build())
                .inputs(inputs)
                .outputs(outputs)
                .build();
    }

    /** Job type and where the flow's code is: the flow file at the recorded commit. */
    private OpenLineage.JobFacets jobFacets(String type, String flowId, RuntimeInfo runtime) {
        return ol.newJobFacetsBuilder().jobType(ol.newJobTypeJobFacet("BATCH", "KESTRA", type))
                .sourceCodeLocation(ol.newSourceCodeLocationJobFacetBuilder().type("git")
                        .url(URI.create(REPOSITORY + "/blob/" + runtime.gitCommit() + "/workflows/flows/" + flowId
                                + ".yaml"))
                        .repoUrl(REPOSITORY).path("workflows/flows/" + flowId + ".yaml").version(runtime.gitCommit())
                        .build())
                .build();
    }

    /** Top-level flow of each root execution seen, so a subflow's task runs can name their root job. */
    private static final java.util.Map<String, String> ROOT_FLOW = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The event of a Kestra flow execution itself (a run of the three-stage flow, or one of its subflows), so the
     * parents named by task runs' parent facets exist in OpenLineage and end: START, then COMPLETE, FAIL or ABORT.
     *
     * @param parentExecutionId the execution that started this one as a subflow, or null
     * @param parentFlowId      that execution's flow, or null
     * @param rootExecutionId   the top-level execution (this one when it has no parent)
     * @param rootFlowId        its flow
     */
    void emitExecution(OpenLineage.RunEvent.EventType type, java.time.Instant when, String namespace, String flowId,
            String executionId, String parentExecutionId, String parentFlowId, String rootExecutionId,
            String rootFlowId, String launchedBy, RuntimeInfo runtime) {
        ROOT_FLOW.put(rootExecutionId, rootFlowId);
        if (clients.isEmpty()) {
            return;
        }
        java.util.Map<String, Object> k = new java.util.LinkedHashMap<>();
        k.put("executionId", executionId);
        k.put("parentExecutionId", parentExecutionId);
        k.put("rootExecutionId", rootExecutionId);
        k.put("taskRunId", null);
        k.put("launchedBy", launchedBy);
        k.put("gitCommit", runtime.gitCommit());
        OpenLineage.RunFacetsBuilder facets = ol.newRunFacetsBuilder()
                .processing_engine(ol.newProcessingEngineRunFacet(runtime.seedVersion(), "seed", runtime.seedVersion()))
                .put("seed_kestra", new SeedFacet("SeedKestraRunFacet", k));
        if (parentExecutionId != null) {
            facets.parent(ol.newParentRunFacetBuilder()
                    .run(ol.newParentRunFacetRun(runId(parentExecutionId)))
                    .job(ol.newParentRunFacetJob(namespace, parentFlowId))
                    .root(root(namespace, rootExecutionId, rootFlowId)).build());
        }
        send(ol.newRunEventBuilder().eventType(type).eventTime(when.atZone(ZoneOffset.UTC))
                .run(ol.newRun(runId(executionId), facets.build()))
                .job(ol.newJobBuilder().namespace(namespace).name(flowId).facets(jobFacets("FLOW", flowId, runtime)).build())
                .inputs(List.of()).outputs(List.of()).build(), "execution " + executionId);
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
