package seed.annotation.ingest;

import java.sql.Connection;
import java.sql.SQLException;
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
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.annotation.core.EventCodec;
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
    private final BatchDecoder decoder;
    private final BatchWriter writer;

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
        this.decoder = new BatchDecoder(signing);
        this.writer = new BatchWriter(listener, dlq, dlqTopic, r -> lastRejection = r);
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
        private BatchDecoder.Prepared pendingBatch;
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
                // named in pg_stat_activity, so an operator (and bench ingest's CPU meter) can tell them apart
                lookups.setClientInfo("ApplicationName", "seed-ingester-lookups");
                // the claim check's array has no statistics: index probes per row, never a hash of all assignments
                try (Statement st = lookups.createStatement()) {
                    st.execute("SET enable_hashjoin = off");
                    st.execute("SET enable_mergejoin = off");
                }
            }
            while (dbs.size() < options.dbConnections()) {
                Connection db = ds.getConnection();
                try {
                    db.setClientInfo("ApplicationName", "seed-ingester-writer");
                    db.setAutoCommit(false);
                    try (Statement st = db.createStatement()) {
                        st.execute("CREATE TEMP TABLE IF NOT EXISTS ranking_staging (event_id uuid, item_id bigint,"
                                + " annotator_id bigint, ranking int[], ties int[], skip boolean, unsafe int[], source text,"
                                + " submitted_at timestamptz, kafka_partition int, kafka_offset bigint, payload_mac bytea,"
                                + " comment text, supersedes uuid, strengths int[])"
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
            BatchDecoder.Prepared next = recs.isEmpty() ? null : decoder.prepare(lookups, recs, parts);
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
                    fs.add(dbThreads.submit(() -> writer.write(db, next, part)));
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
        private void finish(KafkaConsumer<String, byte[]> c, BatchDecoder.Prepared batch, List<java.util.concurrent.Future<int[]>> parts)
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

}
