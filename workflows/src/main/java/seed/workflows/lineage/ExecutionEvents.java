package seed.workflows.lineage;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import io.openlineage.client.OpenLineage;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.workflows.engine.SeedEngine;

/**
 * OpenLineage events for Kestra flow executions themselves (issue 18): every task run's parent facet names its flow
 * execution, and a subflow's names the three-stage run as its root, but nothing used to emit those executions, so a
 * consumer such as Marquez left them as placeholder parents forever RUNNING. This watcher polls the engine's
 * executions (the public repository API: a second consumer on Kestra's execution queue would compete with the
 * executor for its messages) and emits START once and COMPLETE, FAIL or ABORT once it has finished for good, with
 * parent and root in the parent facet. Executions that had already ended when the watcher started are skipped (a
 * previous host emitted them).
 */
public final class ExecutionEvents implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ExecutionEvents.class);

    private final SeedEngine engine;
    private final Instant since = Instant.now();
    private final Set<String> started = ConcurrentHashMap.newKeySet();
    private final Set<String> ended = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService timer;

    private ExecutionEvents(SeedEngine engine, Duration every) {
        this.engine = engine;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "seed-openlineage-executions");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::pollQuietly, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Starts watching {@code engine}'s executions every {@code every}, emitting through {@link Lineage#local()}. */
    public static ExecutionEvents watch(SeedEngine engine, Duration every) {
        return new ExecutionEvents(engine, every);
    }

    private void pollQuietly() {
        try {
            poll();
        } catch (RuntimeException e) {
            log.warn("OpenLineage: polling executions: {}", e.toString());
        }
    }

    /** One pass: emits what changed since the last one (also called once more on close). */
    synchronized void poll() {
        Optional<Lineage> lineage = Lineage.local();
        if (lineage.isEmpty()) {
            return;
        }
        List<Execution> executions = engine.recent(200).stream()
                .sorted(Comparator.comparing((Execution e) -> e.getState().getStartDate())).toList();
        for (Execution e : executions) {
            String id = e.getId();
            Instant end = e.getState().getEndDate().orElse(null);
            if (!started.contains(id) && end != null && end.isBefore(since) && SeedEngine.finished(e)) {
                started.add(id);
                ended.add(id);
                continue;
            }
            String parent = parentOf(e);
            String parentFlow = null;
            String root = id;
            String rootFlow = e.getFlowId();
            for (int depth = 0, guard = 0; parentId(root).isPresent() && guard < 16; guard++) {
                Optional<Execution> up = engine.execution(parentId(root).get());
                if (up.isEmpty()) {
                    break;
                }
                if (depth++ == 0) {
                    parentFlow = up.get().getFlowId();
                }
                root = up.get().getId();
                rootFlow = up.get().getFlowId();
            }
            String launchedBy = e.getLabels() == null ? null : e.getLabels().stream()
                    .filter(l -> "launched-by".equals(l.key())).map(l -> l.value()).findFirst().orElse(null);
            if (started.add(id)) {
                lineage.get().execution(OpenLineage.RunEvent.EventType.START, e.getState().getStartDate(),
                        e.getNamespace(), e.getFlowId(), id, parent, parentFlow, root, rootFlow, launchedBy);
            }
            if (SeedEngine.finished(e) && ended.add(id)) {
                OpenLineage.RunEvent.EventType type = switch (e.getState().getCurrent()) {
                    case SUCCESS, WARNING -> OpenLineage.RunEvent.EventType.COMPLETE;
                    case KILLED, CANCELLED -> OpenLineage.RunEvent.EventType.ABORT;
                    default -> OpenLineage.RunEvent.EventType.FAIL;
                };
                lineage.get().execution(type, end != null ? end : Instant.now(), e.getNamespace(), e.getFlowId(), id,
                        parent, parentFlow, root, rootFlow, launchedBy);
            }
        }
    }

    private Optional<String> parentId(String executionId) {
        return engine.execution(executionId).map(ExecutionEvents::parentOf);
    }

    /** The execution whose subflow task started this one, or null. */
    static String parentOf(Execution e) {
        Map<String, Object> v = e.getTrigger() == null ? null : e.getTrigger().getVariables();
        Object p = v == null ? null : v.get("executionId");
        return p == null ? null : p.toString();
    }

    /** Stops watching after one last pass, so executions that just ended are emitted too. */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pollQuietly();
    }
}
