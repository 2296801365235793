package seed.annotation;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import seed.annotation.core.Annotator;
import seed.annotation.core.Catalog;
import seed.annotation.core.Item;
import seed.annotation.core.RankingProducer;
import seed.annotation.core.Signing;
import seed.annotation.core.WalFlusher;
import seed.annotation.core.Submission;
import seed.annotation.core.SubmissionService;
import seed.annotation.core.SubmitOutcome;
import seed.annotation.infra.Infra;
import seed.annotation.infra.InfraConfig;
import seed.annotation.ingest.Ingester;
import seed.annotation.snapshot.SnapshotInfo;
import seed.annotation.snapshot.SnapshotScope;
import seed.annotation.snapshot.Snapshots;
import seed.annotation.stats.Agreement;

/**
 * The annotation path as a plain Java API (records in, records out), used by the {@code seed annotate} commands and
 * by the end-to-end pipeline: start infrastructure, load candidates, create annotators, fetch and submit rankings
 * through the same validation + Kafka path as the HTTP API, ingest until caught up, snapshot, and agreement stats.
 */
public final class Annotation implements AutoCloseable {

    private final Infra infra;
    private final Catalog catalog;
    private final Signing signing;
    private final WalFlusher flusher;
    private final RankingProducer producer;
    private final SubmissionService submissions;
    private final Snapshots snapshots;
    private Ingester ingester;

    private Annotation(Infra infra) {
        this.infra = infra;
        this.catalog = new Catalog(infra.dataSource(), infra.claimsDataSource());
        this.signing = Signing.load(infra.dataSource());
        this.producer = new RankingProducer(infra.kafkaBootstrap(), infra.config().topic(), infra.config().kafkaClientProperties(),
                signing);
        this.flusher = new WalFlusher(infra.dataSource());
        this.submissions = new SubmissionService(catalog, producer, RankingProducer.deliveryTimeoutMs() + 5_000, flusher);
        this.snapshots = new Snapshots(infra.dataSource(), infra.config().dataDir().resolve("snapshots"));
    }

    /** Starts (or connects to) Kafka and PostgreSQL per {@code config}, migrates, and opens the producer. */
    public static Annotation start(InfraConfig config) {
        Infra infra = Infra.start(config);
        try {
            return new Annotation(infra);
        } catch (RuntimeException e) {
            infra.close();
            throw e;
        }
    }

    public Infra infra() {
        return infra;
    }

    public Catalog catalog() {
        return catalog;
    }

    public SubmissionService submissions() {
        return submissions;
    }

    public Snapshots snapshots() {
        return snapshots;
    }

    /** Creates prompts, candidate sets and items from a candidates JSONL file (see {@link Catalog#loadCandidates}). */
    public Catalog.LoadResult loadCandidates(Path jsonl, int annotatorsPerItem) throws IOException {
        return catalog.loadCandidates(jsonl, annotatorsPerItem);
    }

    /** True when every one of these item ids is in this database (a load recorded elsewhere may name others). */
    public boolean itemsExist(java.util.Collection<Long> ids) throws SQLException {
        try (java.sql.Connection c = infra.dataSource().getConnection();
             java.sql.PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM annotation_items WHERE id = ANY (?)")) {
            ps.setArray(1, c.createArrayOf("bigint", new java.util.TreeSet<>(ids).toArray()));
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1) == new java.util.HashSet<>(ids).size();
            }
        }
    }

    /** The record signing keys (tests sign hostile content with them to reach the checks behind the signature). */
    public Signing signing() {
        return signing;
    }

    /** The running ingester, or null when none was started in this process. */
    public synchronized Ingester ingester() {
        return ingester;
    }

    /** Creates an identity with one of {@code Annotator.ROLES}; the returned token is not stored in clear anywhere. */
    public Catalog.NewAnnotator addAnnotator(String name, String role) {
        return catalog.createAnnotator(name, role);
    }

    /** The annotator's next item (assigning one if needed), or empty when nothing is left for them. */
    public Optional<Item> nextItem(Annotator who) {
        return catalog.nextItem(who.id());
    }

    /** Submits a ranking through the same checks and Kafka path as the HTTP API; blocks until Kafka acknowledged. */
    public SubmitOutcome submit(Annotator who, Submission s) {
        return submissions.submit(who, s, "api");
    }

    /** Same as {@link #submit} with an explicit source label (e.g. "synthetic" for simulated annotators). */
    public SubmitOutcome submit(Annotator who, Submission s, String source) {
        return submissions.submit(who, s, source);
    }

    /** Starts the background ingester (once) with the given options. */
    public synchronized Ingester startIngester(Ingester.Options options) {
        if (ingester == null) {
            ingester = new Ingester(infra.kafkaBootstrap(), infra.config().kafkaClientProperties(), infra.config().topic(),
                    infra.config().deadLetterTopic(), infra.ingesterDataSource(), options, null).start();
        }
        return ingester;
    }

    /**
     * Ingests until every record produced before this call is in PostgreSQL (or rejected with a reason); starts the
     * ingester if it is not running and leaves it running.
     */
    public Ingester.Stats ingestUntilCaughtUp(Duration timeout) throws InterruptedException {
        Ingester ing = startIngester(Ingester.Options.defaults());
        if (!ing.awaitCaughtUp(timeout)) {
            throw new IllegalStateException("ingester did not catch up within " + timeout + " (stats " + ing.stats() + ")");
        }
        return ing.stats();
    }

    /**
     * Freezes the accepted rankings of the scope's items ingested so far into an immutable snapshot file: a run's
     * items ({@link SnapshotScope#items}) or, named explicitly, every ranking in the database ({@link SnapshotScope#all}).
     */
    public SnapshotInfo snapshot(SnapshotScope scope) {
        return snapshots.create(scope);
    }

    /** Same, admitting only annotators whose gold agreement (Spearman, over the scope's items) is at least {@code minGoldAgreement}. */
    public SnapshotInfo snapshot(SnapshotScope scope, double minGoldAgreement) {
        return snapshots.create(scope, Long.MAX_VALUE, minGoldAgreement);
    }

    /** Agreement per item and per annotator. */
    public Agreement.Report stats() throws SQLException {
        return Agreement.compute(infra.dataSource());
    }

    /** Agreement over the rankings of the scope's items only. */
    public Agreement.Report stats(SnapshotScope scope) throws SQLException {
        return Agreement.compute(infra.dataSource(), scope instanceof SnapshotScope.Items i ? i.ids() : null);
    }

    @Override
    public synchronized void close() {
        if (ingester != null) {
            ingester.close();
        }
        producer.close();
        flusher.close();
        infra.close();
    }
}
