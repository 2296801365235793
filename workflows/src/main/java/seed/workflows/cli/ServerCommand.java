package seed.workflows.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code seed server}: the long-running Seed of a machine. The embedded Kestra engine, the annotator page, and the
 * operators' API (with its Airflow-compatible part) run together until the process is stopped; runs it was given
 * survive a restart (the engine's state is on disk) and {@code seed resume} finishes them.
 */
@Command(name = "server", mixinStandardHelpOptions = true,
        description = "Run the engine, the annotation server and the operator API together until stopped.")
public final class ServerCommand implements Callable<Integer> {

    @Option(names = "--work", defaultValue = "runs/seed", description = "work folder (default: ${DEFAULT-VALUE})")
    Path work;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address the operator API listens on")
    String host;

    @Option(names = "--port", defaultValue = "8700", description = "operator API port (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--annotation-port", defaultValue = "8080", description = "annotator page port (default: "
            + "${DEFAULT-VALUE})")
    int annotationPort;

    @Override
    public Integer call() throws Exception {
        Hosts.Hosted hosted = Hosts.start(work, annotationPort, host, port);
        Hosts.stopInOrderOnSignal(hosted);
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                hosted.close();
            } catch (Exception ignored) {
                // shutting down
            }
            stop.countDown();
        }, "seed-server-stop"));
        System.out.println("operator API:   " + hosted.url() + "  (Airflow-compatible part under /api/v1)");
        System.out.println("annotator page: " + hosted.host().annotationUrl() + "/");
        System.out.println("operator token: in " + work.toAbsolutePath().normalize().resolve(Hosts.TOKEN_FILE)
                + " (owner-only); other people get their own with seed people add NAME --role ... while this runs");
        System.out.println("ready");
        stop.await();
        return 0;
    }
}
