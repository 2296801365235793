package seed.workflows.engine;

import io.kestra.core.models.Label;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.executions.ExecutionKilled;
import io.kestra.core.models.executions.ExecutionKilledExecution;
import io.kestra.core.models.executions.LogEntry;
import io.kestra.core.models.flows.Flow;
import io.kestra.core.models.flows.State;
import io.kestra.core.queues.QueueFactoryInterface;
import io.kestra.core.queues.QueueInterface;
import io.kestra.core.repositories.ExecutionRepositoryInterface;
import io.kestra.core.repositories.FlowRepositoryInterface;
import io.kestra.core.repositories.LocalFlowRepositoryLoader;
import io.kestra.core.repositories.LogRepositoryInterface;
import io.kestra.core.runners.FlowInputOutput;
import io.kestra.core.services.ExecutionService;
import io.kestra.core.tenant.TenantService;
import io.micronaut.context.ApplicationContext;
import io.micronaut.data.model.Pageable;
import io.micronaut.inject.qualifiers.Qualifiers;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import org.slf4j.event.Level;

/**
 * Kestra's engine (executor, worker, scheduler) embedded in Seed's JVM, the way Kestra's own {@code server local}
 * runs it: an H2 file database and local storage under the work folder, so executions survive the process and a
 * later {@code seed resume} continues them. Seed's flows are loaded from the jar on every start. This class is the one
 * place that touches Kestra's internals; commands and the operator API go through it.
 */
public final class SeedEngine implements AutoCloseable {

    /** Seed's flows, shipped in the jar under {@code flows/} (and in the repository under {@code workflows/flows/}). */
    public static final List<String> FLOW_FILES = List.of("seed.curate.yaml", // before seed.three-stage, its subflow
            "seed.pretrain.yaml", "seed.sft.yaml", "seed.annotate.yaml",
            "seed.reward.yaml", "seed.rlhf.yaml", "seed.three-stage.yaml", "seed.retrain.yaml", "seed.dpo.yaml",
            "seed.sweep.yaml", "seed.promote.yaml");
    public static final String NAMESPACE = "seed";
    public static final String TENANT = TenantService.MAIN_TENANT;

    private final ApplicationContext context;
    private final KestraServices runner;
    private final QueueInterface<Execution> executionQueue;
    private final QueueInterface<ExecutionKilled> killQueue;
    private final ExecutionRepositoryInterface executions;
    private final LogRepositoryInterface logs;
    private final FlowRepositoryInterface flows;

    /**
     * @param workDir  Kestra's database and internal storage go under {@code workDir/kestra}
     * @param globals  values flows read as {@code {{ globals.name }}} (service addresses, the artifact store)
     * @param persistent H2 file backend (true, as Kestra's local mode) or in-memory (tests that need no restart)
     * @param workerThreads tasks run at once in this JVM
     * @param runTasks false: only read the engine's state (runs, logs), never pick up a task
     */
    public record Config(Path workDir, Map<String, Object> globals, boolean persistent, int workerThreads,
            boolean runTasks) {

        /** An engine that runs flows (executor, worker, scheduler). */
        public Config(Path workDir, Map<String, Object> globals, boolean persistent, int workerThreads) {
            this(workDir, globals, persistent, workerThreads, true);
        }
    }

    @SuppressWarnings("unchecked")
    private SeedEngine(ApplicationContext context, boolean startRunner, int workerThreads) {
        this.context = context;
        this.executionQueue = context.getBean(QueueInterface.class, Qualifiers.byName(QueueFactoryInterface.EXECUTION_NAMED));
        this.killQueue = context.getBean(QueueInterface.class, Qualifiers.byName(QueueFactoryInterface.KILL_NAMED));
        this.executions = context.getBean(ExecutionRepositoryInterface.class);
        this.logs = context.getBean(LogRepositoryInterface.class);
        this.flows = context.getBean(FlowRepositoryInterface.class);
        if (startRunner) {
            try {
                this.runner = new KestraServices(context, workerThreads, true);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while Kestra's services started", e);
            }
        } else {
            this.runner = null;
        }
    }

    /** Starts Kestra's services in this JVM and (re)loads Seed's flows. */
    public static SeedEngine start(Config config) throws IOException {
        Path kestra = config.workDir().toAbsolutePath().resolve("kestra");
        Files.createDirectories(kestra);
        Map<String, Object> props = new LinkedHashMap<>();
        props.put("kestra.anonymous-usage-report.enabled", false);
        props.put("kestra.server-type", "STANDALONE");
        props.put("micronaut.server.port", -1);
        props.put("endpoints.all.enabled", false);
        // defaults that Kestra's (unpublished) CLI jar ships in its application.yml
        props.put("kestra.jdbc.cleaner.initial-delay", "1h");
        props.put("kestra.jdbc.cleaner.fixed-delay", "1h");
        props.put("kestra.jdbc.cleaner.retention", "30d");
        props.put("kestra.jdbc.queues.min-poll-interval", "25ms");
        props.put("kestra.jdbc.queues.max-poll-interval", "500ms");
        props.put("kestra.jdbc.queues.poll-switch-interval", "5s");
        props.put("kestra.server.service.purge.initial-delay", "1h");
        props.put("kestra.server.service.purge.fixed-delay", "1d");
        props.put("kestra.server.service.purge.retention", "30d");
        props.put("kestra.server.liveness.enabled", true);
        props.put("kestra.server.liveness.interval", "5s");
        // a worker that stops heartbeating (its process was killed) is declared dead after 20 s and its running
        // tasks go to a live worker: that is how a run a killed `seed run` left behind continues
        props.put("kestra.server.liveness.timeout", "20s");
        props.put("kestra.server.liveness.initial-delay", "10s");
        props.put("kestra.server.worker-task-restart-strategy", "IMMEDIATELY");
        props.put("kestra.server.liveness.heartbeat-interval", "3s");
        props.put("kestra.server.termination-grace-period", "5s");
        props.put("kestra.tasks.tmp-dir.path", kestra.resolve("tmp").toString());
        props.put("kestra.plugins.local-repository-path", kestra.resolve("plugins").toString());
        props.put("kestra.storage.type", "local");
        props.put("kestra.storage.local.base-path", kestra.resolve("storage").toString());
        if (config.persistent()) {
            props.put("kestra.repository.type", "h2");
            props.put("kestra.queue.type", "h2");
            props.put("datasources.h2.url", "jdbc:h2:file:" + kestra.resolve("database")
                    + ";TIME ZONE=UTC;DB_CLOSE_DELAY=-1;DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=30000");
            props.put("datasources.h2.username", "sa");
            props.put("datasources.h2.password", "");
            props.put("datasources.h2.driver-class-name", "org.h2.Driver");
            props.put("flyway.datasources.h2.enabled", true);
            props.put("flyway.datasources.h2.locations", List.of("classpath:migrations/h2"));
            props.put("flyway.datasources.h2.ignore-migration-patterns", "*:missing,*:future");
            props.put("flyway.datasources.h2.out-of-order", true);
        } else {
            props.put("kestra.repository.type", "memory");
            props.put("kestra.queue.type", "memory");
        }
        config.globals().forEach((k, v) -> props.put("kestra.variables.globals." + k, v));
        ApplicationContext context = ApplicationContext.builder().deduceEnvironment(false).properties(props).start();
        try {
            SeedEngine engine = new SeedEngine(context, config.runTasks(), config.workerThreads());
            engine.loadFlows(kestra.resolve("flows"));
            return engine;
        } catch (RuntimeException | IOException e) {
            context.close();
            throw e;
        }
    }

    /** Copies the flows out of the jar into {@code dir} and loads them (a changed flow becomes a new revision). */
    private void loadFlows(Path dir) throws IOException {
        Files.createDirectories(dir);
        for (String name : FLOW_FILES) {
            try (InputStream in = SeedEngine.class.getResourceAsStream("/flows/" + name)) {
                if (in == null) {
                    throw new IOException("flow " + name + " missing from the jar (resource /flows/" + name + ")");
                }
                Files.copy(in, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        context.getBean(LocalFlowRepositoryLoader.class).load(TENANT, dir.toFile());
        // Kestra's loader skips a file it cannot parse without saying so: refuse to run with a flow missing
        for (String name : FLOW_FILES) {
            String id = name.substring(NAMESPACE.length() + 1, name.length() - ".yaml".length());
            if (flows.findById(TENANT, NAMESPACE, id, Optional.empty()).isEmpty()) {
                throw new IOException("flow " + name + " did not load into Kestra (invalid YAML or an unknown task "
                        + "property); check it with `seed deploy` against a Kestra server, or run the tests");
            }
        }
    }

    /** The flow, or a clear error naming the ones that exist. */
    public Flow flow(String flowId) {
        String id = flowId.startsWith(NAMESPACE + ".") ? flowId.substring(NAMESPACE.length() + 1) : flowId;
        return flows.findById(TENANT, NAMESPACE, id, Optional.empty())
                .orElseThrow(() -> new IllegalArgumentException("unknown flow '" + flowId + "'; Seed's flows are "
                        + FLOW_FILES.stream().map(f -> f.replace(".yaml", "")).toList()));
    }

    /** All of Seed's flows, newest revision each. */
    public List<Flow> flows() {
        return flows.findAll(TENANT).stream().filter(f -> NAMESPACE.equals(f.getNamespace())).toList();
    }

    /**
     * Creates and queues an execution of {@code flowId} with typed inputs; an input Kestra cannot read (wrong type, a
     * missing required one) fails here, naming it, before anything runs.
     */
    public Execution launch(String flowId, Map<String, Object> inputs, String launchedBy) {
        return launch(flowId, inputs, launchedBy, Map.of());
    }

    /** {@link #launch(String, Map, String)} with extra labels (e.g. the run id an Airflow client chose). */
    public Execution launch(String flowId, Map<String, Object> inputs, String launchedBy, Map<String, String> extra) {
        Flow flow = flow(flowId);
        // every missing, unknown (misspelt) or ill-typed input at once, before Kestra sees the run
        FlowInputs.check(flowId, inputs);
        FlowInputOutput io = context.getBean(FlowInputOutput.class);
        List<Label> labels = new ArrayList<>();
        labels.add(new Label("launched-by", launchedBy));
        extra.forEach((k, v) -> labels.add(new Label(k, v)));
        Execution execution;
        try {
            execution = Execution.newExecution(flow, (f, e) -> io.readExecutionInputs(f, e, inputs), labels,
                    Optional.empty());
        } catch (RuntimeException ex) {
            throw new IllegalArgumentException("invalid inputs for " + flowId + ": " + rootMessage(ex), ex);
        }
        try {
            executionQueue.emit(execution);
        } catch (Exception e) {
            throw new IllegalStateException("could not queue the execution of " + flowId + ": " + e.getMessage(), e);
        }
        return execution;
    }

    private static String rootMessage(Throwable t) {
        StringBuilder sb = new StringBuilder(String.valueOf(t.getMessage()));
        for (Throwable c = t.getCause(); c != null && c != t; c = c.getCause()) {
            if (c.getMessage() != null && !sb.toString().contains(c.getMessage())) {
                sb.append(": ").append(c.getMessage());
            }
        }
        return sb.toString();
    }

    public Optional<Execution> execution(String id) {
        return executions.findById(TENANT, id);
    }

    /** The execution, or a clear error. */
    public Execution require(String id) {
        return execution(id).orElseThrow(() -> new IllegalArgumentException("unknown run '" + id + "'"));
    }

    /** Newest first. */
    public List<Execution> recent(int limit) {
        // sorted here: the H2 and memory repositories name their sort columns differently
        return executions.find(Pageable.from(1, Math.max(1000, limit)), TENANT, List.of()).stream()
                .filter(e -> NAMESPACE.equals(e.getNamespace()))
                .sorted(java.util.Comparator.comparing((Execution e) -> e.getState().getStartDate()).reversed())
                .limit(limit).toList();
    }

    /** Executions started by another execution's subflow tasks (one level). */
    public List<Execution> children(String parentId) {
        List<Execution> out = new ArrayList<>();
        executions.findAllByTriggerExecutionId(TENANT, parentId).subscribe(out::add);
        return out;
    }

    public List<LogEntry> logs(String executionId) {
        return logs.findByExecutionId(TENANT, executionId, Level.INFO);
    }

    /** Polls until {@code done} holds for the stored execution or the timeout passes. */
    public Execution await(String id, Predicate<Execution> done, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<Execution> e = execution(id);
            if (e.isPresent() && done.test(e.get())) {
                return e.get();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("run " + id + " did not finish within " + timeout + " (state "
                        + e.map(x -> x.getState().getCurrent().toString()).orElse("unknown") + ")");
            }
            Thread.sleep(200);
        }
    }

    /** Until the execution is terminated (SUCCESS, FAILED, KILLED, WARNING, CANCELLED). */
    public Execution awaitTerminated(String id, Duration timeout) throws InterruptedException {
        return await(id, SeedEngine::finished, timeout);
    }

    /**
     * Finished for good: terminated, not still KILLING, and no task about to retry (Kestra passes a retried task
     * through FAILED before RETRYING, so FAILED alone is not an outcome).
     */
    public static boolean finished(Execution e) {
        if (e.getState().getCurrent() == State.Type.KILLING || !e.getState().isTerminated()) {
            return false;
        }
        return e.getTaskRunList() == null || e.getTaskRunList().stream()
                .noneMatch(t -> t.getState().getCurrent() == State.Type.RETRYING);
    }

    /** Asks Kestra to kill a running execution and its subflow executions; the task's thread is interrupted. */
    public void kill(String id) {
        Execution e = require(id);
        if (e.getState().isTerminated()) {
            throw new IllegalStateException("run " + id + " is already " + e.getState().getCurrent());
        }
        try {
            killQueue.emit(ExecutionKilledExecution.builder().state(ExecutionKilled.State.REQUESTED).executionId(id)
                    .isOnKillCascade(true).tenantId(TENANT).build());
        } catch (Exception ex) {
            throw new IllegalStateException("could not request the kill of " + id + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * Kestra's restart: the failed task runs again, completed ones keep their outputs; a failed subflow task restarts
     * its child execution the same way. A run that has not ended is refused: there is nothing to resume.
     *
     * <p>A cancelled (KILLED) run cannot be restarted in Kestra ("must be terminated or paused and not killed"), and
     * its worker remembers a killed execution id for the rest of the process and kills any task of it on arrival.
     * Kestra's answer for a killed execution is a replay: a new execution (new id, same inputs and labels, Kestra's
     * {@code system.replay} label) that keeps the outputs of the tasks that had finished and runs again from the
     * killed one. The stage it reruns finds its folder in the input-addressed artifact store and continues from the
     * last checkpoint, so for the operator this is the cancelled run resumed; the returned execution's id says where
     * it continues.
     */
    public Execution restart(String id) throws Exception {
        Execution e = require(id);
        State.Type now = e.getState().getCurrent();
        if (now == State.Type.KILLING) {
            throw new IllegalStateException("run " + id + " is still being cancelled (KILLING); resume it once it is "
                    + "KILLED");
        }
        if (!finished(e)) {
            throw new IllegalStateException("run " + id + " is " + now + ": nothing to resume (only a FAILED or "
                    + "KILLED run can be resumed; cancel it first, or wait for it to end)");
        }
        if (!e.getState().isFailed() && now != State.Type.KILLED) {
            throw new IllegalStateException("run " + id + " is " + now
                    + "; only a FAILED or KILLED run can be resumed");
        }
        ExecutionService service = context.getBean(ExecutionService.class);
        if (now == State.Type.KILLED) {
            String from = e.getTaskRunList() == null ? null : e.getTaskRunList().stream()
                    .filter(t -> t.getState().getCurrent() == State.Type.KILLED || t.getState().isFailed())
                    .map(io.kestra.core.models.executions.TaskRun::getId).findFirst().orElse(null);
            Flow flow = flows.findById(TENANT, e.getNamespace(), e.getFlowId(), Optional.ofNullable(e.getFlowRevision()))
                    .orElseThrow(() -> new IllegalStateException("flow of run " + id + " is gone"));
            Execution replay = service.replay(e, flow, from, null);
            executionQueue.emit(replay);
            return replay;
        }
        Execution restarted = service.restart(e, null);
        executionQueue.emit(restarted);
        // callers poll the stored state next: wait until the executor has taken the restart, so they never read the
        // old FAILED as the new outcome
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (require(id).getState().getCurrent() != now) {
                break;
            }
            Thread.sleep(100);
        }
        return restarted;
    }

    @Override
    public void close() {
        try {
            if (runner != null) {
                runner.close();
            }
        } catch (Exception ignored) {
            // closing on the way out; the context below releases the rest
        }
        context.close();
    }
}
