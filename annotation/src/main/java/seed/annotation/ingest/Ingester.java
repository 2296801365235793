package seed.annotation.ingest;

import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.annotation.core.EventCodec;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.RankingRules;
import seed.annotation.core.Signing;

/**
 * Kafka -> PostgreSQL: a consumer group (read_committed) whose workers each own one database connection and write
 * each polled batch in one transaction (COPY into a temporary staging table, then INSERT ... SELECT ... ON CONFLICT
 * DO NOTHING, so a redelivered event id never makes a second row). Offsets are committed only after the database
 * commit. A record that fails validation goes to the dead-letter topic and to rejected_events with the reason;
 * nothing is silently dropped.
 */
public final class Ingester implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Ingester.class);

    /**
     * @param threads               consumer threads (each with its own DB connection); useful up to the partition count
     * @param maxPollRecords        largest batch written in one transaction
     * @param pauseAfterDbCommitMs  fault-injection knob: sleep between the DB commit and the offset commit (0 normally)
     * @param groupId               Kafka consumer group
     * @param dbConnections         connections (and writer threads) per worker: a batch is split by item into this
     *                              many parts written in parallel, each in its own transaction; the offsets are
     *                              committed after all parts committed (same item = same part, so the uniqueness
     *                              checks never span parts)
     * @param instanceId            static group membership id (worker i uses "ID-i"), or null for dynamic membership.
     *                              With it, a restarted ingester takes its partitions back at once instead of after
     *                              the dead member's session timeout; two live ingesters must never share it.
     */
    public record Options(int threads, int maxPollRecords, long pauseAfterDbCommitMs, String groupId, String instanceId,
                          int dbConnections) {
        public Options {
            if (threads < 1 || maxPollRecords < 1 || dbConnections < 1) {
                throw new IllegalArgumentException("threads, maxPollRecords and dbConnections must be >= 1");
            }
        }

        /** Compatibility constructor: two DB connections per worker. */
        public Options(int threads, int maxPollRecords, long pauseAfterDbCommitMs, String groupId, String instanceId) {
            this(threads, maxPollRecords, pauseAfterDbCommitMs, groupId, instanceId, 2);
        }

        public static Options defaults() {
            return new Options(1, 10_000, 0, "seed-ingester", null, 2);
        }

        public Options withDbConnections(int n) {
            return new Options(threads, maxPollRecords, pauseAfterDbCommitMs, groupId, instanceId, n);
        }

        public Options withThreads(int n) {
            return new Options(n, maxPollRecords, pauseAfterDbCommitMs, groupId, instanceId, dbConnections);
        }

        public Options withGroup(String g) {
            return new Options(threads, maxPollRecords, pauseAfterDbCommitMs, g, instanceId, dbConnections);
        }

        public Options withInstanceId(String id) {
            return new Options(threads, maxPollRecords, pauseAfterDbCommitMs, groupId, id, dbConnections);
        }

        public Options withPause(long ms) {
            return new Options(threads, ms == 0 ? maxPollRecords : Math.min(maxPollRecords, 500), ms, groupId, instanceId,
                    dbConnections);
        }
    }

    /** What the ingester is doing, for /health and supervisors. */
    public enum State {
        STARTING, RUNNING,
        /** a transient failure (database or Kafka unreachable): rolled back, retrying with backoff */
        RETRYING,
        /** stopped by an error it cannot handle; the process should exit so a supervisor restarts it */
        FAILED,
        STOPPED;

        /** Whether rankings produced now will be stored without anyone's intervention. */
        public boolean isUp() {
            return this == STARTING || this == RUNNING || this == RETRYING;
        }
    }

    /**
     * @param lag           records in Kafka not yet written, summed over this ingester's partitions (-1 unknown)
     * @param lastError     the last failure (transient or fatal), or null
     * @param rejected      records refused (dead-lettered) since start, so an operator sees forged or broken records
     * @param lastRejection the last refusal's record position and reason, or null
     */
    public record Health(State state, long lag, String lastError, java.time.Instant lastErrorAt, long rejected,
                         String lastRejection) {
    }

    /** Running totals since start. */
    public record Stats(long records, long inserted, long rejected, long batches) {
    }

    /** Listener for each committed batch (progress lines, fault tests). */
    public interface BatchListener {
        void committed(int records, int inserted, int rejected);

        /** Called on a writer thread with the part's rows staged and inserted but not yet committed. */
        default void beforeCommit(int part, int rows) {
        }
    }

    /**
     * Fault-injection knob for tests: sleep this long before each part's DB commit (a process killed during it must
     * leave no row of that batch). 0 normally.
     */
    private static final long PAUSE_BEFORE_COMMIT_MS = Long.getLong("seed.ingest.pause-before-commit-ms", 0);

    private final Map<String, Object> clientProps;
    private final Signing signing;
    private final ClaimReconciler reconciler;
    private final String bootstrap;
    private final String topic;
    private final String dlqTopic;
    private final DataSource ds;
    private final Options options;
    private final BatchListener listener;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Worker> workers = new ArrayList<>();
    private final KafkaProducer<String, byte[]> dlq;
    private final AtomicLong records = new AtomicLong();
    private final AtomicLong inserted = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile State state = State.STARTING;
    private volatile String lastError;
    private volatile java.time.Instant lastErrorAt;
    private volatile String lastRejection;
    private final ConcurrentHashMap<Integer, Long> lagByWorker = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Integer> itemK = new ConcurrentHashMap<>();

    public Ingester(String bootstrap, String topic, String dlqTopic, DataSource ds, Options options, BatchListener listener) {
        this(bootstrap, Map.of(), topic, dlqTopic, ds, options, listener);
    }

    /**
     * @param clientProps extra Kafka client settings for every client it opens (SASL, TLS: security.protocol,
     *                    sasl.jaas.config, ssl.truststore.location, ...)
     */
    public Ingester(String bootstrap, Map<String, ?> clientProps, String topic, String dlqTopic, DataSource ds,
                    Options options, BatchListener listener) {
        this.clientProps = Map.copyOf(clientProps);
        this.signing = Signing.load(ds);
        this.bootstrap = bootstrap;
        this.topic = topic;
        this.dlqTopic = dlqTopic;
        this.ds = ds;
        this.options = options;
        this.listener = listener;
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "seed-ingester-dlq");
        // room for a capped payload plus the reason headers (see DLQ_MAX_VALUE_BYTES)
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 1024 * 1024);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        p.putAll(this.clientProps);
        this.dlq = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        this.reconciler = new ClaimReconciler(bootstrap, this.clientProps, topic, options.groupId(), ds);
    }

    /** Starts the consumer threads; returns at once. */
    public Ingester start() {
        for (int i = 0; i < options.threads(); i++) {
            Worker w = new Worker(i);
            workers.add(w);
            Thread t = new Thread(w, "seed-ingester-" + i);
            t.setDaemon(true);
            w.thread = t;
            t.start();
        }
        reconciler.start();
        return this;
    }

    public Stats stats() {
        return new Stats(records.get(), inserted.get(), rejected.get(), batches.get());
    }

    /** State, lag and last error, for /health. */
    public Health health() {
        long lag = 0;
        for (long l : lagByWorker.values()) {
            if (l < 0) {
                lag = -1;
                break;
            }
            lag += l;
        }
        return new Health(state, lag, lastError, lastErrorAt, rejected.get(), lastRejection);
    }

    private void noteError(String what) {
        lastError = what.length() > 500 ? what.substring(0, 500) + "..." : what;
        lastErrorAt = java.time.Instant.now();
    }

    /** The first error that stopped a worker, if any. */
    public Throwable failure() {
        return failure.get();
    }

    /**
     * Waits until the group's committed offsets reach the topic's end offsets as they are now (read_committed), i.e.
     * every record produced before this call is durable in PostgreSQL or rejected.
     *
     * @return false on timeout
     */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return awaitCaughtUp(bootstrap, clientProps, topic, options.groupId(), timeout, failure);
    }

    /** The reconciler of stranded claims this ingester runs (tests call {@link ClaimReconciler#runOnce}). */
    public ClaimReconciler reconciler() {
        return reconciler;
    }

    static boolean awaitCaughtUp(String bootstrap, Map<String, Object> clientProps, String topic, String group,
                                 Duration timeout, AtomicReference<Throwable> failure) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<String, Object> ap = new HashMap<>(clientProps);
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(ap)) {
            Map<TopicPartition, Long> ends = endOffsets(admin, topic);
            while (System.nanoTime() < deadline) {
                if (failure != null && failure.get() != null) {
                    throw new IllegalStateException("ingester failed", failure.get());
                }
                Map<TopicPartition, OffsetAndMetadata> committed;
                try {
                    committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    Thread.sleep(100);
                    continue;
                }
                boolean done = true;
                for (var e : ends.entrySet()) {
                    OffsetAndMetadata c = committed.get(e.getKey());
                    if (e.getValue() > 0 && (c == null || c.offset() < e.getValue())) {
                        done = false;
                        break;
                    }
                }
                if (done) {
                    return true;
                }
                Thread.sleep(25);
            }
            return false;
        }
    }

    static Map<TopicPartition, Long> endOffsets(Admin admin, String topic) {
        try {
            var desc = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
            Map<TopicPartition, OffsetSpec> req = new HashMap<>();
            desc.partitions().forEach(p -> req.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
            var res = admin.listOffsets(req, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get(30, TimeUnit.SECONDS);
            Map<TopicPartition, Long> out = new HashMap<>();
            res.forEach((tp, info) -> out.put(tp, info.offset()));
            return out;
        } catch (Exception e) {
            throw new IllegalStateException("reading end offsets of " + topic + ": " + e, e);
        }
    }

    @Override
    public void close() {
        running.set(false);
        if (state != State.FAILED) {
            state = State.STOPPED;
        }
        for (Worker w : workers) {
            if (w.consumer != null) {
                w.consumer.wakeup();
            }
        }
        for (Worker w : workers) {
            try {
                w.thread.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        reconciler.close();
        dlq.close();
    }

    /** How the ingester treats a failure. */
    enum Failure {
        /** the record is wrong (22xxx data exception, 23514 check violation, 23502 ...): dead-letter it, go on */
        DATA,
        /** the database or Kafka is briefly unavailable (08xxx, 40001, 40P01, 57P0x, 53300): roll back, retry */
        TRANSIENT,
        /** anything else: stop loudly so a supervisor restarts the process and a person looks */
        FATAL
    }

    /** Classifies a failure by its SQLState (the first SQLException in the cause chain) or Kafka exception type. */
    static Failure classify(Throwable t) {
        for (Throwable x = t; x != null; x = x.getCause()) {
            if (x instanceof SQLException e) {
                String st = e.getSQLState();
                if (st == null) {
                    return e instanceof java.sql.SQLTransientException || e instanceof java.sql.SQLRecoverableException
                            ? Failure.TRANSIENT : Failure.FATAL;
                }
                if (st.startsWith("22") || st.equals("23514") || st.equals("23502") || st.equals("54000")) {
                    return Failure.DATA;
                }
                if (st.startsWith("08") || st.equals("40001") || st.equals("40P01") || st.startsWith("57P")
                        || st.equals("53300") || st.equals("55P03") || st.equals("53400")) {
                    return Failure.TRANSIENT;
                }
                return Failure.FATAL;
            }
            if (x instanceof org.apache.kafka.common.errors.RetriableException
                    || x instanceof org.apache.kafka.common.errors.TimeoutException
                    || x instanceof org.apache.kafka.clients.consumer.CommitFailedException
                    || x instanceof org.apache.kafka.common.errors.RebalanceInProgressException
                    || x instanceof org.apache.kafka.common.errors.DisconnectException) {
                return Failure.TRANSIENT;
            }
        }
        return Failure.FATAL;
    }

    /** Longest backoff between retries after a transient failure. */
    private static final long MAX_BACKOFF_MS = 5_000;

    /**
     * One consumer, its lookup connection and {@code dbConnections} writer connections. Failures: a bad record is
     * dead-lettered inside {@link #write}; a transient failure rolls back, seeks every partition back to its
     * committed offset and retries with backoff (rows already committed are absorbed by the event-id key); anything
     * else ends the worker and sets the ingester FAILED.
     */
    private final class Worker implements Runnable, org.apache.kafka.clients.consumer.ConsumerRebalanceListener {
        final int index;
        Thread thread;
        volatile KafkaConsumer<String, byte[]> consumer;
        private final List<Connection> dbs = new ArrayList<>();
        private Connection lookups;
        private java.util.concurrent.ExecutorService dbThreads;
        private List<java.util.concurrent.Future<int[]>> pending;
        private Prepared pendingBatch;
        /** Offsets of durable batches whose commit failed (e.g. during a rebalance): committed again after a poll. */
        private final Map<TopicPartition, OffsetAndMetadata> uncommitted = new HashMap<>();

        Worker(int index) {
            this.index = index;
        }

        private Properties consumerProps() {
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ConsumerConfig.GROUP_ID_CONFIG, options.groupId());
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, options.maxPollRecords());
            p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 * 1024 * 1024);
            p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024 * 1024);
            // Wait up to 200 ms for 256 KB: a trickle of submissions is then written in a few larger transactions
            // (each one costs an fsync and an offset commit) instead of one per record.
            p.put(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, 256 * 1024);
            p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 200);
            p.put(ConsumerConfig.CLIENT_ID_CONFIG, "seed-ingester-" + index);
            // Incremental rebalances: a joining or leaving ingester moves only the partitions that must move, and the
            // others keep ingesting.
            p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
                    org.apache.kafka.clients.consumer.CooperativeStickyAssignor.class.getName());
            if (options.instanceId() != null) {
                // Static membership: a restarted ingester (same id, same worker index) takes over its partitions at
                // once instead of waiting for the killed member's session to time out.
                p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, options.instanceId() + "-" + index);
            }
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 15_000);
            p.putAll(clientProps);
            return p;
        }

        /** Opens the lookup and writer connections if they are not open (after a failure they were closed). */
        private void ensureConnections() throws SQLException {
            if (lookups == null) {
                lookups = ds.getConnection();
            }
            while (dbs.size() < options.dbConnections()) {
                Connection db = ds.getConnection();
                try {
                    db.setAutoCommit(false);
                    try (Statement st = db.createStatement()) {
                        st.execute("CREATE TEMP TABLE IF NOT EXISTS ranking_staging (event_id uuid, item_id bigint,"
                                + " annotator_id bigint, ranking int[], ties int[], skip boolean, unsafe int[], source text,"
                                + " submitted_at timestamptz, kafka_partition int, kafka_offset bigint, payload_mac bytea,"
                                + " comment text, supersedes uuid)"
                                + " ON COMMIT DELETE ROWS");
                        // The staging table has no statistics, so the planner would hash the whole assignments table
                        // for every batch; index probes per staged row are far cheaper. Only these connections.
                        st.execute("SET enable_hashjoin = off");
                        st.execute("SET enable_mergejoin = off");
                    }
                    db.commit();
                } catch (SQLException e) {
                    closeQuietly(db);
                    throw e;
                }
                dbs.add(db);
            }
        }

        private void closeConnections() {
            for (Connection db : dbs) {
                closeQuietly(db);
            }
            dbs.clear();
            if (lookups != null) {
                closeQuietly(lookups);
                lookups = null;
            }
        }

        @Override
        public void run() {
            int parts = options.dbConnections();
            dbThreads = java.util.concurrent.Executors.newFixedThreadPool(parts, r -> {
                Thread t = new Thread(r, "seed-ingester-db-" + index);
                t.setDaemon(true);
                return t;
            });
            try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(consumerProps(), new StringDeserializer(),
                    new ByteArrayDeserializer())) {
                consumer = c;
                c.subscribe(List.of(topic), this);
                int attempt = 0;
                boolean recover = false;
                // Two-stage pipeline: this thread polls, decodes and validates batch N+1 while the writer threads
                // write batch N (split by item into parts, one connection each). Batch N's offsets are committed only
                // after all its parts committed, and batch N+1 is written only after that.
                while (running.get()) {
                    try {
                        if (recover) {
                            seekToCommitted(c);
                            recover = false;
                        }
                        ensureConnections();
                        step(c, parts);
                        if (state == State.STARTING || state == State.RETRYING) {
                            state = State.RUNNING;
                        }
                        if (attempt > 0) {
                            log.info("ingester worker {} recovered after {} retries", index, attempt);
                            attempt = 0;
                        }
                    } catch (WakeupException e) {
                        break;
                    } catch (Exception e) {
                        if (!running.get()) {
                            break;
                        }
                        if (seed.annotation.infra.Infra.jvmShuttingDown() && seed.annotation.core.Catalog.connectionLost(e)) {
                            // the embedded PostgreSQL stops with the JVM: nothing is lost (the batch is not committed
                            // and will be redelivered), so one line, no retry and no stack trace
                            log.info("ingester worker {} stops: the database is shutting down with the process", index);
                            break;
                        }
                        if (classify(e) != Failure.TRANSIENT) {
                            throw e;
                        }
                        attempt++;
                        state = State.RETRYING;
                        noteError(e.toString());
                        long backoff = Math.min(MAX_BACKOFF_MS, 100L << Math.min(attempt, 10));
                        log.warn("ingester worker {}: transient failure (attempt {}), rolling back and retrying in {} ms: {}",
                                index, attempt, backoff, e.toString());
                        abandonPending();
                        closeConnections();
                        recover = true;
                        sleepWhileRunning(backoff);
                    }
                }
                if (pending != null) {
                    try {
                        finish(c, pendingBatch, pending);
                    } catch (Exception e) {
                        log.info("last batch of worker {} not completed (it will be redelivered): {}", index,
                                EventCodec.firstLine(e.toString()));
                    } finally {
                        pending = null;
                    }
                }
            } catch (Throwable t) {
                Throwable cause = t instanceof java.util.concurrent.ExecutionException && t.getCause() != null ? t.getCause() : t;
                if (running.get() && seed.annotation.infra.Infra.jvmShuttingDown()) {
                    log.info("ingester worker {} stops with the process: {}", index, EventCodec.firstLine(cause.toString()));
                } else if (running.get()) {
                    failure.compareAndSet(null, cause);
                    noteError(cause.toString());
                    state = State.FAILED;
                    log.error("ingester worker {} stopped: {}", index, cause.toString(), cause);
                }
            } finally {
                dbThreads.shutdownNow();
                closeConnections();
            }
        }

        /** One poll: decode the new records, finish the batch being written, hand the new one to the writers. */
        private void step(KafkaConsumer<String, byte[]> c, int parts) throws Exception {
            ConsumerRecords<String, byte[]> recs = c.poll(Duration.ofMillis(pending == null ? 200 : 5));
            retryCommit(c);
            lagByWorker.put(index, lagOf(c));
            Prepared next = recs.isEmpty() ? null : prepare(lookups, recs, parts);
            if (pending != null) {
                List<java.util.concurrent.Future<int[]>> f = pending;
                pending = null;
                finish(c, pendingBatch, f);
            }
            if (next != null) {
                List<java.util.concurrent.Future<int[]>> fs = new ArrayList<>();
                for (int i = 0; i < parts; i++) {
                    final Connection db = dbs.get(i);
                    final int part = i;
                    fs.add(dbThreads.submit(() -> write(db, next, part)));
                }
                pending = fs;
                pendingBatch = next;
            }
        }

        /** Waits for the writers of the batch in flight (whatever they did is rolled back or idempotent), drops it. */
        private void abandonPending() {
            if (pending == null) {
                return;
            }
            for (java.util.concurrent.Future<int[]> f : pending) {
                try {
                    f.get(60, TimeUnit.SECONDS);
                } catch (Exception e) {
                    f.cancel(true);
                }
            }
            pending = null;
            pendingBatch = null;
        }

        /** After a failure: every assigned partition restarts from its committed offset (or the beginning). */
        private void seekToCommitted(KafkaConsumer<String, byte[]> c) {
            Set<TopicPartition> assigned = c.assignment();
            if (assigned.isEmpty()) {
                return;
            }
            Map<TopicPartition, OffsetAndMetadata> committed = c.committed(assigned, Duration.ofSeconds(10));
            List<TopicPartition> fromStart = new ArrayList<>();
            for (TopicPartition tp : assigned) {
                OffsetAndMetadata o = committed.get(tp);
                if (o == null) {
                    fromStart.add(tp);
                } else {
                    c.seek(tp, o);
                }
            }
            if (!fromStart.isEmpty()) {
                c.seekToBeginning(fromStart);
            }
        }

        private void sleepWhileRunning(long ms) {
            long end = System.nanoTime() + ms * 1_000_000;
            while (running.get() && System.nanoTime() < end) {
                try {
                    Thread.sleep(Math.min(100, ms));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }

        /**
         * Partitions are being taken away (another ingester joined, or this one leaves): write and commit the batch
         * in flight now, while this worker still owns its partitions, so the new owner does not redo it.
         */
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
            if (pending == null || revoked.isEmpty()) {
                return;
            }
            List<java.util.concurrent.Future<int[]>> f = pending;
            pending = null;
            try {
                finish(consumer, pendingBatch, f);
            } catch (Exception e) {
                // the rows are rolled back or durable; the new owner redelivers the revoked partitions from their
                // committed offsets. This worker keeps the others, and its position there is already past the
                // dropped batch: seek them back too, or the next commit would move past rows never written.
                log.warn("batch in flight at revocation not committed (it will be redelivered): {}", e.toString());
                try {
                    seekRetainedToCommitted(consumer, revoked);
                } catch (RuntimeException again) {
                    // cannot even read the committed offsets: stop this worker rather than risk skipping the batch
                    throw new IllegalStateException("could not rewind the retained partitions after a failed write at"
                            + " revocation: " + again, again);
                }
            }
        }

        /** Partitions lost without a clean hand-over: another member may own them already, so commit nothing. */
        @Override
        public void onPartitionsLost(Collection<TopicPartition> lost) {
            abandonPending();
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
        }

        /** Waits for every part of a batch, counts it, reports it, then commits its offsets. */
        private void finish(KafkaConsumer<String, byte[]> c, Prepared batch, List<java.util.concurrent.Future<int[]>> parts)
                throws Exception {
            int ins = 0;
            int rej = 0;
            Exception first = null;
            for (java.util.concurrent.Future<int[]> f : parts) {
                try {
                    int[] r = f.get();
                    ins += r[0];
                    rej += r[1];
                } catch (java.util.concurrent.ExecutionException e) {
                    if (first == null) {
                        first = e.getCause() instanceof Exception ex ? ex : e;
                    }
                }
            }
            if (first != null) {
                throw first;
            }
            records.addAndGet(batch.all().size());
            inserted.addAndGet(ins);
            rejected.addAndGet(rej);
            batches.incrementAndGet();
            if (listener != null) {
                listener.committed(batch.all().size(), ins, rej);
            }
            commitOffsets(c, batch.offsets());
        }

        private void commitOffsets(KafkaConsumer<String, byte[]> c, Map<TopicPartition, OffsetAndMetadata> offsets)
                throws InterruptedException {
            if (options.pauseAfterDbCommitMs() > 0) {
                Thread.sleep(options.pauseAfterDbCommitMs());
            }
            try {
                c.commitSync(offsets);
            } catch (WakeupException e) {
                c.commitSync(offsets);
                running.set(false);
            } catch (org.apache.kafka.common.KafkaException e) {
                // The rows are already durable; a lost offset commit only means a redelivery, which the
                // event-id uniqueness absorbs. Keep consuming, and commit these offsets again after the next poll:
                // otherwise a partition that receives nothing more would never look caught up.
                offsets.forEach((tp, o) -> uncommitted.merge(tp, o, (x, y) -> x.offset() >= y.offset() ? x : y));
                log.warn("offset commit failed (retried after the next poll): {}", e.toString());
            }
        }

        /** Commits the offsets a failed commit left behind, for the partitions this worker still owns. */
        private void retryCommit(KafkaConsumer<String, byte[]> c) {
            if (uncommitted.isEmpty()) {
                return;
            }
            Map<TopicPartition, OffsetAndMetadata> mine = new HashMap<>();
            Set<TopicPartition> owned = c.assignment();
            uncommitted.forEach((tp, o) -> {
                if (owned.contains(tp)) {
                    mine.put(tp, o);
                }
            });
            try {
                if (!mine.isEmpty()) {
                    c.commitSync(mine);
                }
                uncommitted.clear();
            } catch (org.apache.kafka.common.KafkaException e) {
                log.debug("offset commit retry failed, trying again after the next poll: {}", e.toString());
            }
        }
    }

    /**
     * Rewinds every partition the consumer keeps after a revocation to its committed offset (or the beginning), so a
     * batch dropped inside {@code onPartitionsRevoked} is read again for the partitions this member still owns.
     * Returns the partitions rewound.
     */
    public static Set<TopicPartition> seekRetainedToCommitted(org.apache.kafka.clients.consumer.Consumer<?, ?> c,
                                                       Collection<TopicPartition> revoked) {
        Set<TopicPartition> retained = new HashSet<>(c.assignment());
        retained.removeAll(revoked);
        if (retained.isEmpty()) {
            return retained;
        }
        Map<TopicPartition, OffsetAndMetadata> committed = c.committed(retained, Duration.ofSeconds(10));
        List<TopicPartition> fromStart = new ArrayList<>();
        for (TopicPartition tp : retained) {
            OffsetAndMetadata o = committed.get(tp);
            if (o == null) {
                fromStart.add(tp);
            } else {
                c.seek(tp, o);
            }
        }
        if (!fromStart.isEmpty()) {
            c.seekToBeginning(fromStart);
        }
        return retained;
    }

    private static void closeQuietly(Connection c) {
        try {
            if (!c.getAutoCommit()) {
                c.rollback();
            }
        } catch (SQLException e) {
            log.debug("rollback: {}", e.toString());
        }
        try {
            c.close();
        } catch (SQLException e) {
            log.debug("closing connection: {}", e.toString());
        }
    }

    /** Records behind the end of the assigned partitions as the consumer last saw them (-1 unknown). */
    private static long lagOf(KafkaConsumer<String, byte[]> c) {
        long lag = 0;
        for (TopicPartition tp : c.assignment()) {
            java.util.OptionalLong l = c.currentLag(tp);
            if (l.isEmpty()) {
                return -1;
            }
            lag += l.getAsLong();
        }
        return lag;
    }

    /** Longest reason stored or sent (reasons may quote record content). */
    static final int MAX_REASON_CHARS = 900;

    /** Longest payload kept in rejected_events (characters) and in the dead-letter record (bytes). */
    static final int MAX_STORED_PAYLOAD = 64 * 1024;

    static String capReason(String r) {
        return r == null ? "unknown" : r.length() <= MAX_REASON_CHARS ? r : r.substring(0, MAX_REASON_CHARS) + "...";
    }

    /** A record refused with the reason. */
    private record Reject(ConsumerRecord<String, byte[]> rec, String eventId, String reason) {
        Reject {
            reason = capReason(reason);
        }
    }

    /** -Dseed.ingest.trace=true prints per-batch timings (decode+copy, insert, commit) to stderr. */
    private static final boolean TRACE = Boolean.getBoolean("seed.ingest.trace");

    /** A decoded, validated batch ready to write: COPY text of the valid rows, the refusals so far, the offsets. */
    private record Prepared(List<ConsumerRecord<String, byte[]>> all, int[] valid, byte[][] copyData,
                            long[][] items, long[][] annotators, UUID[][] eventIds, List<Reject> rejects,
                            Map<Long, ConsumerRecord<String, byte[]>> byOffsetKey,
                            Map<TopicPartition, OffsetAndMetadata> offsets, long decodeNanos) {
    }

    /** Decodes and checks a polled batch (item sizes from the cache, misses from {@code lookups}). */
    private Prepared prepare(Connection lookups, ConsumerRecords<String, byte[]> recs, int parts) throws SQLException {
        long tStart = System.nanoTime();
        List<ConsumerRecord<String, byte[]>> all = new ArrayList<>(recs.count());
        recs.forEach(all::add);
        List<RankingEvent> events = new ArrayList<>(all.size());
        List<ConsumerRecord<String, byte[]>> okRecs = new ArrayList<>(all.size());
        List<byte[]> okMacs = new ArrayList<>(all.size());
        List<Reject> rejects = new ArrayList<>();
        Map<Long, ConsumerRecord<String, byte[]>> byOffsetKey = new HashMap<>();
        List<RankingEvent> decoded = new ArrayList<>(all.size());
        Set<Long> unknown = new HashSet<>();
        List<byte[]> macs = new ArrayList<>(all.size());
        for (ConsumerRecord<String, byte[]> r : all) {
            try {
                if (r.value() != null && r.value().length > EventCodec.MAX_RECORD_BYTES) {
                    throw new EventCodec.DecodeException("record of " + r.value().length
                            + " bytes is larger than the limit of " + EventCodec.MAX_RECORD_BYTES);
                }
                macs.add(signing.verify(r.value(), r.headers()));
                RankingEvent e = EventCodec.decode(r.value());
                decoded.add(e);
                if (!itemK.containsKey(e.itemId())) {
                    unknown.add(e.itemId());
                }
            } catch (EventCodec.DecodeException ex) {
                if (macs.size() < decoded.size() + 1) {
                    macs.add(null);
                }
                decoded.add(null);
                rejects.add(new Reject(r, EventCodec.peekEventId(r.value()), ex.getMessage()));
            }
        }
        if (!unknown.isEmpty()) {
            loadItemK(lookups, unknown);
        }
        for (int i = 0; i < all.size(); i++) {
            RankingEvent e = decoded.get(i);
            if (e == null) {
                continue;
            }
            ConsumerRecord<String, byte[]> r = all.get(i);
            Integer k = itemK.get(e.itemId());
            // the producers key every record by its item; the MAC covers the value only, so a signed record copied
            // under another key would otherwise be absorbed as a redelivery without a trace
            String reason = !Long.toString(e.itemId()).equals(r.key())
                    ? "record key " + (r.key() == null ? "null" : "'" + EventCodec.firstLine(r.key().length() > 40
                            ? r.key().substring(0, 40) + "..." : r.key()) + "'")
                            + " does not match item " + e.itemId() + " (records are keyed by item; a copy under another key is refused)"
                    : k == null ? "unknown item " + e.itemId()
                    : RankingRules.check(e.ranking(), e.ties(), e.skip(), e.unsafe(), k);
            if (reason != null) {
                rejects.add(new Reject(r, e.eventId().toString(), reason));
            } else {
                events.add(e);
                okRecs.add(r);
                okMacs.add(macs.get(i));
                byOffsetKey.put(key(r.partition(), r.offset()), r);
            }
        }
        StringBuilder[] sb = new StringBuilder[parts];
        int[] valid = new int[parts];
        for (int i = 0; i < parts; i++) {
            sb[i] = new StringBuilder(events.size() * 128 / parts + 16);
        }
        int[] partOf = new int[events.size()];
        for (int i = 0; i < events.size(); i++) {
            int part = (int) Math.floorMod(events.get(i).itemId(), (long) parts);
            partOf[i] = part;
            appendRow(sb[part], events.get(i), okRecs.get(i), okMacs.get(i));
            valid[part]++;
        }
        long[][] items = new long[parts][];
        long[][] annotators = new long[parts][];
        UUID[][] eventIds = new UUID[parts][];
        int[] fill = new int[parts];
        for (int i = 0; i < parts; i++) {
            items[i] = new long[valid[i]];
            annotators[i] = new long[valid[i]];
            eventIds[i] = new UUID[valid[i]];
        }
        for (int i = 0; i < events.size(); i++) {
            int part = partOf[i];
            items[part][fill[part]] = events.get(i).itemId();
            eventIds[part][fill[part]] = events.get(i).eventId();
            annotators[part][fill[part]++] = events.get(i).annotatorId();
        }
        byte[][] copyData = new byte[parts][];
        for (int i = 0; i < parts; i++) {
            copyData[i] = sb[i].toString().getBytes(StandardCharsets.UTF_8);
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition tp : recs.partitions()) {
            List<ConsumerRecord<String, byte[]>> l = recs.records(tp);
            offsets.put(tp, new OffsetAndMetadata(l.get(l.size() - 1).offset() + 1));
        }
        return new Prepared(all, valid, copyData, items, annotators, eventIds, rejects, byOffsetKey, offsets,
                System.nanoTime() - tStart);
    }

    /**
     * Writes one part of a prepared batch in one transaction, then dead-letters its refusals (the decode-stage
     * refusals go with part 0) and waits until the dead-letter topic has them. Runs on a writer thread; returns
     * {inserted, rejected}. When the database refuses a record's data (a CHECK, a value out of range), the part is
     * rolled back and written again one row at a time, so the bad row is dead-lettered with the database's reason and
     * every other row is stored. Transient and other failures roll back and propagate.
     */
    private int[] write(Connection db, Prepared p, int part) throws Exception {
        try {
            return writeOnce(db, p, part, false);
        } catch (SQLException e) {
            rollbackQuietly(db);
            if (classify(e) != Failure.DATA) {
                throw e;
            }
            log.warn("database refused a record's data in a batch of {} ({}); writing that part row by row to find it",
                    p.valid()[part], e.getMessage());
            try {
                return writeOnce(db, p, part, true);
            } catch (Exception again) {
                rollbackQuietly(db);
                throw again;
            }
        } catch (Exception e) {
            rollbackQuietly(db);
            throw e;
        }
    }

    private static void rollbackQuietly(Connection db) {
        try {
            db.rollback();
        } catch (SQLException e) {
            log.debug("rollback: {}", e.toString());
        }
    }

    private int[] writeOnce(Connection db, Prepared p, int part, boolean rowByRow) throws Exception {
        long tStart = System.nanoTime();
        long tCopy = tStart;
        long tInsert = tStart;
        List<ConsumerRecord<String, byte[]>> all = p.all();
        List<Reject> rejects = part == 0 ? new ArrayList<>(p.rejects()) : new ArrayList<>();
        int insertedNow = 0;
        boolean fast = false;
        if (!rowByRow && p.valid()[part] > 0 && FAST_COPY
                && allClaimed(db, p.items()[part], p.annotators()[part], p.eventIds()[part])) {
            // Fast path (the common case): every row is the event its assignment claimed; COPY straight into
            // ranking_events. Any duplicate (redelivery, repeated event id) makes the COPY fail on a unique index;
            // then the savepoint undoes it and the staging path below sorts the batch out row by row.
            Savepoint sp = db.setSavepoint();
            try {
                copyIn(db, "COPY ranking_events(event_id, item_id, annotator_id, ranking, ties, skip, unsafe, source,"
                        + " submitted_at, kafka_partition, kafka_offset, payload_mac, comment, supersedes) FROM STDIN", p.copyData()[part]);
                db.releaseSavepoint(sp);
                insertedNow = p.valid()[part];
                fast = true;
            } catch (SQLException e) {
                if (!"23505".equals(e.getSQLState())) {
                    throw e;
                }
                db.rollback(sp);
            }
            tCopy = System.nanoTime();
            tInsert = tCopy;
        }
        if (p.valid()[part] > 0 && !fast) {
            if (!rowByRow) {
                insertedNow = carefulInsert(db, p.copyData()[part], p.byOffsetKey(), rejects);
                tCopy = System.nanoTime();
                tInsert = tCopy;
            } else {
                byte[] data = p.copyData()[part];
                int start = 0;
                for (int i = 0; i < data.length; i++) {
                    if (data[i] != '\n') {
                        continue;
                    }
                    byte[] line = java.util.Arrays.copyOfRange(data, start, i + 1);
                    start = i + 1;
                    Savepoint sp = db.setSavepoint();
                    try {
                        insertedNow += carefulInsert(db, line, p.byOffsetKey(), rejects);
                        try (Statement st = db.createStatement()) {
                            st.execute("DELETE FROM ranking_staging");
                        }
                        db.releaseSavepoint(sp);
                    } catch (SQLException e) {
                        db.rollback(sp);
                        if (classify(e) != Failure.DATA) {
                            throw e;
                        }
                        ConsumerRecord<String, byte[]> r = p.byOffsetKey().get(lineKey(line));
                        rejects.add(new Reject(r, lineEventId(line), "the database refused the record: "
                                + EventCodec.firstLine(e.getMessage())));
                    }
                }
            }
        }
        if (!rejects.isEmpty()) {
            try (PreparedStatement ps = db.prepareStatement("INSERT INTO rejected_events(kafka_topic, kafka_partition,"
                    + " kafka_offset, event_id, payload, reason) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
                for (Reject r : rejects) {
                    ps.setString(1, r.rec().topic());
                    ps.setInt(2, r.rec().partition());
                    ps.setLong(3, r.rec().offset());
                    ps.setString(4, r.eventId());
                    ps.setString(5, storedPayload(r.rec().value()));
                    ps.setString(6, r.reason().replace("\u0000", "\\u0000"));
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        long tBeforeCommit = System.nanoTime();
        if (listener != null) {
            listener.beforeCommit(part, insertedNow);
        }
        if (PAUSE_BEFORE_COMMIT_MS > 0) {
            Thread.sleep(PAUSE_BEFORE_COMMIT_MS);
        }
        db.commit();
        if (TRACE) {
            long tEnd = System.nanoTime();
            System.err.printf("t=%d part=" + part + " batch n=%d decode=%.1fms copy=%.1fms insert=%.1fms commit=%.1fms write=%.1fms%n",
                    System.currentTimeMillis() % 100000, all.size(), p.decodeNanos() / 1e6, (tCopy - tStart) / 1e6,
                    (tInsert - tCopy) / 1e6, (tEnd - tBeforeCommit) / 1e6, (tEnd - tStart) / 1e6);
        }
        if (!rejects.isEmpty()) {
            // refusals are an operator's business (forged, replayed or broken records): log them, capped per batch
            for (int i = 0; i < Math.min(3, rejects.size()); i++) {
                Reject r = rejects.get(i);
                log.warn("refused record {}/{}@{} (event {}): {}", r.rec().topic(), r.rec().partition(), r.rec().offset(),
                        r.eventId(), EventCodec.firstLine(r.reason()));
            }
            if (rejects.size() > 3) {
                log.warn("... and {} more refused records in this batch (see rejected_events)", rejects.size() - 3);
            }
            Reject last = rejects.get(rejects.size() - 1);
            lastRejection = last.rec().topic() + "/" + last.rec().partition() + "@" + last.rec().offset() + ": "
                    + EventCodec.firstLine(last.reason());
            // After the DB commit, before the offset commit: a crash here re-sends on replay (at-least-once DLQ).
            // Every send is awaited: a dead letter that did not arrive fails the batch (retried), so the offsets
            // never move past a refusal that only PostgreSQL knows about.
            List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> sent = new ArrayList<>();
            for (Reject r : rejects) {
                sent.add(dlq.send(deadLetter(r)));
            }
            for (var f : sent) {
                try {
                    f.get(60, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof Exception ex ? ex : e;
                }
            }
        }
        return new int[] {insertedNow, rejects.size()};
    }

    /**
     * The staging path: COPY into the temp table, insert the rows that are their assignment's claimed event (no
     * conflict), and name the reason of every other row that is not a plain redelivery. Returns rows inserted.
     */
    private static int carefulInsert(Connection db, byte[] copyData, Map<Long, ConsumerRecord<String, byte[]>> byOffsetKey,
                                     List<Reject> rejects) throws SQLException {
        copyIn(db, "COPY ranking_staging FROM STDIN", copyData);
        int n;
        try (Statement st = db.createStatement()) {
            n = st.executeUpdate("INSERT INTO ranking_events(event_id, item_id, annotator_id, ranking, ties,"
                    + " skip, unsafe, source, submitted_at, kafka_partition, kafka_offset, payload_mac, comment, supersedes)"
                    + " SELECT s.event_id, s.item_id, s.annotator_id, s.ranking, s.ties, s.skip, s.unsafe, s.source,"
                    + " s.submitted_at, s.kafka_partition, s.kafka_offset, s.payload_mac, s.comment, s.supersedes FROM ranking_staging s"
                    + " WHERE EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = s.item_id AND a.annotator_id = s.annotator_id"
                    + "   AND a.submitted_event_id = s.event_id)"
                    + " ON CONFLICT DO NOTHING");
            // Everything that is not now stored exactly as staged (same event id, same content) is refused, with why.
            try (ResultSet rs = st.executeQuery("SELECT * FROM (SELECT s.kafka_partition, s.kafka_offset, s.event_id::text, CASE"
                    + " WHEN a.item_id IS NULL"
                    + "   THEN 'annotator ' || s.annotator_id || ' is not assigned item ' || s.item_id"
                    + " WHEN a.submitted_event_id IS NULL"
                    + "   THEN 'event ' || s.event_id || ' was not accepted by the API: the assignment of item ' || s.item_id"
                    + "     || ' to annotator ' || s.annotator_id || ' has no claimed submission'"
                    + " WHEN a.submitted_event_id <> s.event_id"
                    + "   THEN 'event ' || s.event_id || ' was not accepted by the API: it is not the claimed submission of item '"
                    + "     || s.item_id || ' by annotator ' || s.annotator_id"
                    + " WHEN e.event_id IS NOT NULL AND e.payload_mac IS DISTINCT FROM s.payload_mac"
                    + "   THEN 'event id ' || s.event_id || ' was already stored with different content'"
                    + " WHEN e.event_id IS NOT NULL AND (e.item_id <> s.item_id OR e.annotator_id <> s.annotator_id)"
                    + "   THEN 'event id ' || s.event_id || ' is already used by another ranking'"
                    // a redelivery has the stored record's own position; the same bytes elsewhere were produced twice
                    + " WHEN e.event_id IS NOT NULL AND (e.kafka_partition <> s.kafka_partition OR e.kafka_offset <> s.kafka_offset)"
                    + "   THEN 'replay: event ' || s.event_id || ' is already stored from partition ' || e.kafka_partition"
                    + "     || ' offset ' || e.kafka_offset"
                    + " WHEN r.event_id IS NOT NULL AND r.event_id <> s.event_id"
                    + "   THEN 'duplicate submission: annotator ' || s.annotator_id || ' already ranked item ' || s.item_id"
                    + " END AS reason"
                    + " FROM ranking_staging s"
                    + " LEFT JOIN assignments a ON a.item_id = s.item_id AND a.annotator_id = s.annotator_id"
                    + " LEFT JOIN ranking_events e ON e.event_id = s.event_id"
                    // the same place in the (item, annotator) chain: the original, or the edit of the same event
                    + " LEFT JOIN ranking_events r ON r.item_id = s.item_id AND r.annotator_id = s.annotator_id"
                    + "   AND r.supersedes IS NOT DISTINCT FROM s.supersedes) x"
                    + " WHERE reason IS NOT NULL")) {
                while (rs.next()) {
                    ConsumerRecord<String, byte[]> r = byOffsetKey.get(key(rs.getInt(1), rs.getLong(2)));
                    rejects.add(new Reject(r, rs.getString(3), rs.getString(4)));
                }
            }
        }
        return n;
    }

    /** The record key (partition, offset) of a COPY line: its 10th and 11th tab-separated fields. */
    private static long lineKey(byte[] line) {
        String[] f = new String(line, StandardCharsets.UTF_8).split("\t", -1);
        return key(Integer.parseInt(f[9]), Long.parseLong(f[10]));
    }

    private static String lineEventId(byte[] line) {
        String s = new String(line, StandardCharsets.UTF_8);
        return s.substring(0, s.indexOf('\t'));
    }

    /** The payload as stored in rejected_events: UTF-8 text, NUL escaped, at most MAX_STORED_PAYLOAD characters. */
    static String storedPayload(byte[] value) {
        if (value == null) {
            return "";
        }
        String s = new String(value, 0, Math.min(value.length, MAX_STORED_PAYLOAD + 4), StandardCharsets.UTF_8)
                .replace("\u0000", "\\u0000");
        if (s.length() > MAX_STORED_PAYLOAD || value.length > MAX_STORED_PAYLOAD) {
            s = s.substring(0, Math.min(s.length(), MAX_STORED_PAYLOAD)) + "...[" + value.length + " bytes in all]";
        }
        return s;
    }

    /**
     * The dead-letter record of a refusal: the original key and value (the value cut to MAX_STORED_PAYLOAD bytes,
     * with its full length and SHA-256 in headers) and the reason and origin in headers, so it always fits the
     * topic's record size limit.
     */
    private ProducerRecord<String, byte[]> deadLetter(Reject r) {
        byte[] v = r.rec().value();
        ProducerRecord<String, byte[]> pr;
        if (v != null && v.length > MAX_STORED_PAYLOAD) {
            pr = new ProducerRecord<>(dlqTopic, r.rec().key(), java.util.Arrays.copyOf(v, MAX_STORED_PAYLOAD));
            pr.headers().add("seed.truncated_from_bytes", Integer.toString(v.length).getBytes(StandardCharsets.UTF_8));
            pr.headers().add("seed.value_sha256", seed.annotation.core.Tokens.sha256Hex(v).getBytes(StandardCharsets.UTF_8));
        } else {
            pr = new ProducerRecord<>(dlqTopic, r.rec().key(), v);
        }
        pr.headers().add("seed.reason", r.reason().getBytes(StandardCharsets.UTF_8));
        pr.headers().add("seed.source", (r.rec().topic() + "/" + r.rec().partition() + "@" + r.rec().offset())
                .getBytes(StandardCharsets.UTF_8));
        return pr;
    }

    /** -Dseed.ingest.fast-copy=false forces the staging path for every batch (for comparison). */
    private static final boolean FAST_COPY = !"false".equals(System.getProperty("seed.ingest.fast-copy"));

    private static void copyIn(Connection db, String sql, byte[] data) throws SQLException {
        CopyIn copy = db.unwrap(PGConnection.class).getCopyAPI().copyIn(sql);
        try {
            copy.writeToCopy(data, 0, data.length);
            copy.endCopy();
        } finally {
            if (copy.isActive()) {
                copy.cancelCopy();
            }
        }
    }

    /** Whether every row of a part is the event its (item, annotator) assignment claimed (one query, index probes). */
    private static boolean allClaimed(Connection db, long[] items, long[] annotators, UUID[] eventIds) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT count(*) FROM unnest(?::bigint[], ?::bigint[], ?::uuid[])"
                + " AS x(i, a, e) WHERE NOT EXISTS (SELECT 1 FROM assignments s WHERE s.item_id = x.i AND s.annotator_id = x.a"
                + " AND s.submitted_event_id = x.e)")) {
            ps.setArray(1, db.createArrayOf("int8", box(items)));
            ps.setArray(2, db.createArrayOf("int8", box(annotators)));
            ps.setArray(3, db.createArrayOf("uuid", eventIds));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1) == 0;
            }
        }
    }

    private static Long[] box(long[] v) {
        Long[] out = new Long[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    private static long key(int partition, long offset) {
        return ((long) partition << 48) ^ offset;
    }

    private void loadItemK(Connection db, Collection<Long> ids) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT id, k FROM annotation_items WHERE id = ANY (?)")) {
            Array arr = db.createArrayOf("int8", ids.toArray());
            ps.setArray(1, arr);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    itemK.put(rs.getLong(1), rs.getInt(2));
                }
            }
        }
        if (!db.getAutoCommit()) {
            db.commit();
        }
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private static void appendRow(StringBuilder sb, RankingEvent e, ConsumerRecord<String, byte[]> r, byte[] mac) {
        sb.append(e.eventId()).append('\t').append(e.itemId()).append('\t').append(e.annotatorId()).append('\t');
        intArray(sb, e.ranking());
        sb.append('\t').append('{');
        boolean first = true;
        for (RankingEvent.Tie t : e.ties()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            sb.append(t.a()).append(',').append(t.b());
        }
        sb.append('}').append('\t').append(e.skip() ? 't' : 'f').append('\t');
        intArray(sb, e.unsafe());
        sb.append('\t');
        escape(sb, e.source());
        sb.append('\t').append(e.submittedAt()).append('\t').append(r.partition()).append('\t').append(r.offset()).append('\t');
        // bytea in COPY text format: \\x then hex (the backslash itself escaped)
        sb.append("\\\\x");
        for (byte b : mac) {
            sb.append(HEX[(b >> 4) & 0xf]).append(HEX[b & 0xf]);
        }
        sb.append('\t');
        if (e.comment() == null) {
            sb.append("\\N");
        } else {
            escape(sb, e.comment());
        }
        sb.append('\t');
        if (e.supersedes() == null) {
            sb.append("\\N");
        } else {
            sb.append(e.supersedes());
        }
        sb.append('\n');
    }

    private static void intArray(StringBuilder sb, List<Integer> l) {
        sb.append('{');
        for (int i = 0; i < l.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(l.get(i).intValue());
        }
        sb.append('}');
    }

    private static void escape(StringBuilder sb, String s) {
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '\\' -> sb.append("\\\\");
                case '\t' -> sb.append("\\t");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\u0000' -> sb.append(' ');
                default -> sb.append(ch);
            }
        }
    }
}
