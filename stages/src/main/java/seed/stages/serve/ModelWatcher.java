package seed.stages.serve;

import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.model.Gpt;
import seed.stages.tokenizer.Tokenizer;

/**
 * Keeps a server on what a {@link ModelSource} names: every {@code interval} it asks the source, and when the id
 * changed it loads the new checkpoint (off the request path) and {@link OpenAiServer#swap swaps} it in between
 * requests. A checkpoint that fails to load is logged and retried at the next poll; the old model keeps serving.
 */
public final class ModelWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelWatcher.class);

    private final ModelSource source;
    private final OpenAiServer server;
    private final long intervalMillis;
    private final Thread thread;
    private volatile boolean closed;
    private volatile String failedId;

    private ModelWatcher(ModelSource source, OpenAiServer server, long intervalMillis) {
        this.source = source;
        this.server = server;
        this.intervalMillis = intervalMillis;
        this.thread = new Thread(this::run, "seed-model-watcher");
        this.thread.setDaemon(true);
    }

    /** Starts polling {@code source} for {@code server} (which serves the source's current model already). */
    public static ModelWatcher start(ModelSource source, OpenAiServer server, java.time.Duration interval) {
        ModelWatcher w = new ModelWatcher(source, server, Math.max(50, interval.toMillis()));
        w.thread.start();
        return w;
    }

    /** The source's current checkpoint, loaded; fails when the source names nothing. */
    public static Loaded load(ModelSource source) throws java.io.IOException {
        ModelSource.Ref ref = source.current().orElseThrow(() -> new IllegalStateException(source.describe()
                + " names no model yet (promote one first: seed promote)"));
        return load(ref);
    }

    /** A loaded checkpoint and the id it is served under. */
    public record Loaded(String id, Gpt model, Tokenizer tokenizer) {
    }

    static Loaded load(ModelSource.Ref ref) throws java.io.IOException {
        Path dir = ref.dir();
        Tokenizer tokenizer = Checkpoints.loadTokenizer(dir);
        return new Loaded(ref.id(), Checkpoints.loadModel(dir), tokenizer);
    }

    private void run() {
        while (!closed) {
            try {
                Thread.sleep(intervalMillis);
                Optional<ModelSource.Ref> ref = source.current();
                if (ref.isEmpty() || ref.get().id().equals(server.modelId()) || ref.get().id().equals(failedId)) {
                    continue;
                }
                LOG.info("{} now names {} ({}); loading it", source.describe(), ref.get().id(), ref.get().dir());
                Loaded next;
                try {
                    next = load(ref.get());
                } catch (java.io.IOException | RuntimeException e) {
                    failedId = ref.get().id();
                    LOG.error("cannot load {} from {}; still serving {}: {}", ref.get().id(), ref.get().dir(),
                            server.modelId(), e.toString());
                    continue;
                }
                server.swap(next.id(), next.model(), next.tokenizer());
                System.out.println("serving " + next.id() + " (" + ref.get().dir() + ")");
                System.out.flush();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("polling {}: {}", source.describe(), e.toString());
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        source.close();
    }
}
