package seed.annotation.core;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes asynchronously committed claims durable in groups: a claim commits with synchronous_commit off (one round
 * trip, no fsync on the HTTP path), and before the API answers 202 it waits for {@link #flush}, which completes once
 * a synchronous commit that began after the request has committed; PostgreSQL flushes the WAL in order, so every
 * earlier asynchronous commit is then on disk too. One fsync covers every submission waiting at that moment, and it
 * runs while Kafka acknowledges the event, so a durable claim costs about max(fsync, Kafka ack) instead of their sum.
 */
public final class WalFlusher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WalFlusher.class);

    private final DataSource ds;
    private final List<Thread> threads = new ArrayList<>();
    private final Object lock = new Object();
    private List<CompletableFuture<Void>> waiting = new ArrayList<>();
    private volatile boolean running = true;

    /** @param ds connections with synchronous_commit on (the default) */
    public WalFlusher(DataSource ds) {
        this.ds = ds;
        // two flushers: a request that arrives while one is waiting for its fsync is taken by the other at once
        // (PostgreSQL merges concurrent flushes), instead of waiting for that fsync and then one more
        for (int i = 0; i < 2; i++) {
            Thread t = new Thread(this::loop, "seed-wal-flusher-" + i);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
    }

    /** Completes when every commit this thread made before the call is durable; fails if the database is down. */
    public CompletableFuture<Void> flush() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        synchronized (lock) {
            if (!running) {
                f.completeExceptionally(new IllegalStateException("WAL flusher closed"));
                return f;
            }
            waiting.add(f);
            lock.notifyAll();
        }
        return f;
    }

    private void loop() {
        Connection c = null;
        while (running) {
            List<CompletableFuture<Void>> batch;
            synchronized (lock) {
                while (running && waiting.isEmpty()) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                batch = waiting;
                waiting = new ArrayList<>();
            }
            try {
                if (c == null) {
                    c = ds.getConnection();
                    c.setAutoCommit(true);
                    try (Statement st = c.createStatement()) {
                        st.execute("SET synchronous_commit = on");
                    }
                }
                try (Statement st = c.createStatement()) {
                    // one round trip: an xid makes the commit write a commit record, and synchronous_commit on
                    // waits until the WAL is flushed past it
                    st.execute("SELECT pg_current_xact_id()");
                }
                batch.forEach(f -> f.complete(null));
            } catch (SQLException | RuntimeException e) {
                log.debug("WAL flush failed: {}", e.toString());
                batch.forEach(f -> f.completeExceptionally(e));
                if (c != null) {
                    try {
                        c.close();
                    } catch (SQLException ignored) {
                        // broken connection
                    }
                    c = null;
                }
            }
        }
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing
            }
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            running = false;
            lock.notifyAll();
            waiting.forEach(f -> f.completeExceptionally(new IllegalStateException("WAL flusher closed")));
            waiting.clear();
        }
        for (Thread t : threads) {
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
