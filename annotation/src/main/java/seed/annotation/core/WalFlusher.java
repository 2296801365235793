package seed.annotation.core;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes asynchronously committed claims durable in groups: a claim commits with synchronous_commit off (one round
 * trip, no fsync on the HTTP path), and before the API answers 202 it waits for {@link #flush}, which completes once
 * a synchronous commit that began after the request has committed; PostgreSQL flushes the WAL in order, so every
 * earlier asynchronous commit is then on disk too. One fsync covers every submission waiting at that moment, and it
 * runs while Kafka acknowledges the event, so a durable claim costs about max(fsync, Kafka ack) instead of their sum.
 *
 * <p>After a database restart the flusher's connection is dead. A failed flush is therefore retried on a fresh
 * connection for up to {@code seed.claims.flush-retry-ms} (10 s); a flush that needed a new connection completes with
 * {@code false}: it proves nothing about commits made on the old server, so the caller checks that its claim survived
 * (a read after this flush sees only durable rows). Without this, the first submissions after a restart were answered
 * 503 although their claim and ranking were stored.
 */
public final class WalFlusher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WalFlusher.class);

    private final DataSource ds;
    private final List<Thread> threads = new ArrayList<>();
    /** How long a failed flush is retried on fresh connections before the waiting submissions are told it failed. */
    static final long RETRY_MS = Long.getLong("seed.claims.flush-retry-ms", 10_000);

    /**
     * Waiting submissions and a wake-up signal, without a monitor: at 1,000 submissions/s a {@code synchronized}
     * queue with wait/notifyAll was contended by every request thread (samples in the lock's spin and in the JVM's
     * monitor deflation thread).
     */
    private final ConcurrentLinkedQueue<CompletableFuture<Boolean>> waiting = new ConcurrentLinkedQueue<>();
    private final Semaphore signal = new Semaphore(0);
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

    /**
     * Completes when every commit this thread made before the call is durable: with {@code true} when the flush ran
     * on a connection that was already open (so on the same server as those commits), {@code false} when it needed a
     * new one (the caller must check its commit survived); fails if the database stayed unreachable.
     */
    public CompletableFuture<Boolean> flush() {
        CompletableFuture<Boolean> f = new CompletableFuture<>();
        waiting.add(f);
        if (!running) {
            // closed meanwhile: close() may have drained the queue before this add
            failAll(new IllegalStateException("WAL flusher closed"));
            return f;
        }
        signal.release();
        return f;
    }

    private void loop() {
        Connection c = null;
        while (running) {
            List<CompletableFuture<Boolean>> batch = new ArrayList<>();
            try {
                signal.acquire();
            } catch (InterruptedException e) {
                break;
            }
            signal.drainPermits();
            // every request taken here was queued before the statement below starts
            for (CompletableFuture<Boolean> f; (f = waiting.poll()) != null; ) {
                batch.add(f);
            }
            if (batch.isEmpty()) {
                continue; // the other flusher took them
            }
            boolean clean = c != null;
            long deadline = System.nanoTime() + RETRY_MS * 1_000_000L;
            Exception failure = null;
            for (int attempt = 0; running; attempt++) {
                try {
                    if (c == null) {
                        clean = false;
                        c = open();
                    }
                    try (Statement st = c.createStatement()) {
                        // one round trip: an xid makes the commit write a commit record, and synchronous_commit on
                        // waits until the WAL is flushed past it
                        st.execute("SELECT pg_current_xact_id()");
                    }
                    failure = null;
                    break;
                } catch (SQLException | RuntimeException e) {
                    failure = e;
                    closeQuietly(c);
                    c = null;
                    if (System.nanoTime() > deadline) {
                        break;
                    }
                    if (attempt > 0) {
                        log.debug("WAL flush failed, retrying on a new connection: {}", e.toString());
                        sleep(Math.min(500, 50L << Math.min(attempt, 4)));
                    }
                }
            }
            if (failure == null && running) {
                boolean ok = clean;
                batch.forEach(f -> f.complete(ok));
            } else {
                Exception e = failure != null ? failure : new IllegalStateException("WAL flusher closed");
                log.debug("WAL flush failed: {}", e.toString());
                batch.forEach(f -> f.completeExceptionally(e));
            }
        }
        closeQuietly(c);
    }

    private void failAll(Exception e) {
        for (CompletableFuture<Boolean> f; (f = waiting.poll()) != null; ) {
            f.completeExceptionally(e);
        }
    }

    private Connection open() throws SQLException {
        Connection c = ds.getConnection();
        c.setAutoCommit(true);
        try (Statement st = c.createStatement()) {
            st.execute("SET synchronous_commit = on");
        }
        return c;
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // broken connection
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        running = false;
        signal.release(threads.size());
        failAll(new IllegalStateException("WAL flusher closed"));
        for (Thread t : threads) {
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // a flush that ended after the queue was drained above, or a request queued meanwhile
        failAll(new IllegalStateException("WAL flusher closed"));
    }
}
