package seed.annotation.web;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;
import seed.annotation.core.EventCodec;

/**
 * Asks PostgreSQL itself whether it answers, for {@code /health}: the ingester's state alone said "running, lag 0"
 * through a frozen database and "up" through a stopped one. One probe at a time runs on its own daemon thread and
 * must answer {@code SELECT 1} within the timeout (a frozen server accepts the bytes and never replies, so the wait
 * is bounded here, not by the driver); a result is reused for a short while so a busy health checker cannot load the
 * database.
 */
public final class DatabaseProbe implements AutoCloseable {

    /** What the last probe found: whether the database answered, how fast, or why not. */
    public record Result(boolean up, long latencyMs, String error) {
    }

    private final DataSource ds;
    private final long timeoutMs;
    private final long reuseMs;
    private final ExecutorService exec = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "seed-db-probe");
        t.setDaemon(true);
        return t;
    });
    private CompletableFuture<Result> inFlight;
    private long inFlightSince;
    private Result last;
    private long lastAt;

    public DatabaseProbe(DataSource ds) {
        this(ds, Long.getLong("seed.health.db-timeout-ms", 2_000), 500);
    }

    DatabaseProbe(DataSource ds, long timeoutMs, long reuseMs) {
        this.ds = ds;
        this.timeoutMs = timeoutMs;
        this.reuseMs = reuseMs;
    }

    /** The database's answer, waiting at most the timeout; a probe still hanging from before counts as no answer. */
    public Result check() {
        CompletableFuture<Result> f;
        long since;
        synchronized (this) {
            long now = System.nanoTime();
            if (last != null && now - lastAt < reuseMs * 1_000_000L) {
                return last;
            }
            if (inFlight == null || inFlight.isDone()) {
                inFlightSince = now;
                inFlight = CompletableFuture.supplyAsync(this::probe, exec);
            }
            f = inFlight;
            since = inFlightSince;
        }
        long waited = (System.nanoTime() - since) / 1_000_000L;
        Result r;
        try {
            r = f.get(Math.max(1, timeoutMs - waited), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            r = new Result(false, -1, "no answer within " + timeoutMs + " ms (waiting "
                    + (System.nanoTime() - since) / 1_000_000L + " ms)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            r = new Result(false, -1, "interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            r = new Result(false, -1, String.valueOf(e.getCause()));
        }
        synchronized (this) {
            last = r;
            lastAt = System.nanoTime();
        }
        return r;
    }

    private Result probe() {
        long t0 = System.nanoTime();
        try (Connection c = ds.getConnection()) {
            // bounds the socket wait too, so a frozen server does not keep this thread (and the pool's connection)
            c.setNetworkTimeout(Runnable::run, (int) Math.max(1_000, timeoutMs * 5));
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                rs.next();
            }
            return new Result(true, (System.nanoTime() - t0) / 1_000_000L, null);
        } catch (Exception e) {
            return new Result(false, (System.nanoTime() - t0) / 1_000_000L, EventCodec.firstLine(e.toString()));
        }
    }

    @Override
    public void close() {
        exec.shutdownNow();
    }
}
