package seed.workflows.engine;

import io.kestra.core.runners.ExecutorInterface;
import io.kestra.core.runners.Indexer;
import io.kestra.core.runners.Scheduler;
import io.kestra.core.runners.Worker;
import io.kestra.core.server.Service;
import io.kestra.core.utils.IdUtils;
import io.kestra.worker.DefaultWorker;
import io.micronaut.context.ApplicationContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Kestra's executor, worker, scheduler and indexer started in this JVM from the published {@code executor},
 * {@code worker}, {@code scheduler} and {@code jdbc-*} jars, the way Kestra's standalone server starts them (its
 * runner lives in the unpublished CLI jar; {@code io.kestra:tests}' {@code TestRunner} does the same for tests). This
 * keeps Kestra's test jar, and the test beans it registers, out of Seed's runtime and plugin jar.
 */
final class KestraServices implements AutoCloseable {

    private final ExecutorService pool;
    private final List<Service> services = new ArrayList<>();

    KestraServices(ApplicationContext context, int workerThreads, boolean scheduler) throws InterruptedException {
        AtomicInteger n = new AtomicInteger();
        pool = Executors.newCachedThreadPool(r -> new Thread(r, "kestra-standalone-" + n.incrementAndGet()));
        start(context.getBean(ExecutorInterface.class));
        Worker worker = context.createBean(DefaultWorker.class, IdUtils.create(), workerThreads, null);
        context.registerSingleton(worker);
        start(worker);
        if (scheduler) {
            start(context.getBean(Scheduler.class));
        }
        start(context.getBean(Indexer.class));
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (!services.stream().allMatch(s -> Optional.ofNullable(s.getState())
                .map(Service.ServiceState::isRunning).orElse(false))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Kestra's services did not all start within a minute: "
                        + services.stream().map(s -> s.getClass().getSimpleName() + "=" + s.getState()).toList());
            }
            Thread.sleep(50);
        }
    }

    private <T extends Service & Runnable> void start(T service) {
        pool.execute(service);
        services.add(service);
    }

    /** The services themselves stop with the application context (their {@code @PreDestroy}); this ends the pool. */
    @Override
    public void close() {
        pool.shutdown();
    }
}
