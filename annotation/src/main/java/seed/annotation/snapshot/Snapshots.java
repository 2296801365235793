package seed.annotation.snapshot;

import seed.annotation.stats.Agreement;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;
import seed.annotation.core.EventCodec;
import seed.annotation.core.Tokens;

/**
 * Freezes accepted rankings into immutable K-wise JSONL files the reward model reads, records their SHA-256 and
 * members, and exports them as TRL-style pairs.
 *
 * <p>Policy: skipped rankings are excluded (a skip carries no preference). Responses flagged unsafe stay in the line
 * but are moved to the end of the ranking, below every safe response (the reward model should learn that unsafe is
 * worse), keeping the annotator's order among them; ties between a safe and an unsafe response are dropped. The line
 * lists the flagged indices in {@code "unsafe"} so consumers can exclude them instead.
 */
public final class Snapshots {

    private final DataSource ds;
    private final Path dir;

    public Snapshots(DataSource ds, Path dir) {
        this.ds = ds;
        this.dir = dir;
    }

    /** Snapshots every accepted ranking of the scope's items ingested so far. */
    public SnapshotInfo create(SnapshotScope scope) {
        return create(scope, Long.MAX_VALUE, null);
    }

    /**
     * Annotators a gold gate keeps out: those whose mean Spearman with the gold order is below {@code min}, and those
     * who ranked no gold item (nothing vouches for them).
     */
    public static java.util.Set<Long> belowGold(Agreement.Report r, double min) {
        java.util.Set<Long> out = new java.util.TreeSet<>();
        for (Agreement.AnnotatorAgreement a : r.annotators()) {
            if (a.goldItems() == 0 || a.spearmanWithGold() == null || a.spearmanWithGold() < min) {
                out.add(a.annotatorId());
            }
        }
        return out;
    }

    /**
     * Snapshots every accepted, non-skipped ranking of the scope's items with ingestion seq <= {@code upTo}, admitting
     * only the rankings of annotators who pass the gold gate ({@code minGoldAgreement}, null = everyone); the scope,
     * the items, the gate and who it kept out are recorded with the snapshot. The gate's agreement is computed over
     * the scope's items too, so a run's gold items must be in its set. Holds a SHARE lock on ranking_events while it
     * reads, so no in-flight ingester transaction can later add a row below the watermark.
     */
    public SnapshotInfo create(SnapshotScope scope, long upTo, Double minGoldAgreement) {
        java.util.Objects.requireNonNull(scope, "scope (ITEMS with item ids, or ALL)");
        if (minGoldAgreement != null && (minGoldAgreement < -1 || minGoldAgreement > 1 || minGoldAgreement.isNaN())) {
            throw new IllegalArgumentException("min gold agreement must be between -1 and 1, got " + minGoldAgreement);
        }
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "snapshot-", ".jsonl.tmp");
            try (Connection c = ds.getConnection()) {
                c.setAutoCommit(false);
                try {
                    try (Statement st = c.createStatement()) {
                        st.execute("LOCK TABLE ranking_events IN SHARE MODE");
                    }
                    // with the lock held no ranking can arrive, so the agreement is that of exactly these rows
                    List<Long> restrictTo = scope instanceof SnapshotScope.Items items ? items.ids() : null;
                    Long[] excluded = minGoldAgreement == null ? new Long[0]
                            : belowGold(Agreement.compute(ds, restrictTo), minGoldAgreement).toArray(Long[]::new);
                    java.sql.Array excludedArr = c.createArrayOf("int8", excluded);
                    // null = scope ALL; the queries read "(?::int8[] IS NULL OR r.item_id = ANY (?::int8[]))"
                    java.sql.Array itemsArr = restrictTo == null ? null : c.createArrayOf("int8", restrictTo.toArray());
                    java.util.SortedSet<Long> covered = new java.util.TreeSet<>();
                    long watermark;
                    try (PreparedStatement ps = c.prepareStatement("SELECT coalesce(max(seq), 0) FROM ranking_events WHERE seq <= ?")) {
                        ps.setLong(1, upTo);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            watermark = rs.getLong(1);
                        }
                    }
                    MessageDigest md = MessageDigest.getInstance("SHA-256");
                    int count = 0;
                    try (OutputStream fo = Files.newOutputStream(tmp);
                         DigestOutputStream dos = new DigestOutputStream(fo, md);
                         BufferedWriter w = new BufferedWriter(new OutputStreamWriter(dos, StandardCharsets.UTF_8), 1 << 16);
                         PreparedStatement ps = c.prepareStatement("SELECT r.event_id::text, p.text, s.responses, r.ranking,"
                                 + " r.ties, r.unsafe, p.id, r.item_id, r.annotator_id, r.strengths FROM ranking_events r JOIN annotation_items i ON i.id = r.item_id"
                                 + " JOIN candidate_sets s ON s.id = i.candidate_set_id JOIN prompts p ON p.id = s.prompt_id"
                                 + " WHERE r.seq <= ? AND NOT r.skip AND NOT (r.annotator_id = ANY (?))"
                                 + " AND " + IN_SCOPE
                                 // an edited ranking: only the latest of its chain (up to the watermark) counts
                                 + " AND NOT EXISTS (SELECT 1 FROM ranking_events x WHERE x.supersedes = r.event_id AND x.seq <= ?)"
                                 + " ORDER BY " + CANONICAL_ORDER)) {
                        ps.setFetchSize(2000);
                        ps.setLong(1, watermark);
                        ps.setArray(2, excludedArr);
                        ps.setArray(3, itemsArr);
                        ps.setArray(4, itemsArr);
                        ps.setLong(5, watermark);
                        try (ResultSet rs = ps.executeQuery()) {
                            while (rs.next()) {
                                String l = line(rs.getString(1), rs.getString(2), (String[]) rs.getArray(3).getArray(),
                                        (Integer[]) rs.getArray(4).getArray(), (Integer[]) rs.getArray(5).getArray(),
                                        (Integer[]) rs.getArray(6).getArray(), (Integer[]) rs.getArray(10).getArray());
                                // provenance for exports: which prompt, which item, who ranked it
                                w.write(l.substring(0, l.length() - 1) + ",\"prompt_id\":" + rs.getLong(7) + ",\"item_id\":"
                                        + rs.getLong(8) + ",\"annotator_id\":" + rs.getLong(9) + "}");
                                w.write('\n');
                                covered.add(rs.getLong(8));
                                count++;
                            }
                        }
                    }
                    if (count == 0) {
                        throw new IllegalStateException("no accepted (non-skipped) rankings"
                                + (restrictTo == null ? "" : " of the " + restrictTo.size() + " items asked for")
                                + " up to watermark " + watermark
                                + (excluded.length > 0 ? " from annotators who pass the gold gate (" + excluded.length
                                + " kept out)" : "") + ": nothing to snapshot");
                    }
                    try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                        ch.force(true);
                    }
                    String sha = HexFormat.of().formatHex(md.digest());
                    long id;
                    try (Statement st = c.createStatement();
                         ResultSet rs = st.executeQuery("SELECT nextval(pg_get_serial_sequence('preference_snapshots', 'id'))")) {
                        rs.next();
                        id = rs.getLong(1);
                    }
                    Path finalPath = dir.resolve("snapshot-" + id + ".jsonl").toAbsolutePath();
                    // ITEMS: the set asked for (an item nobody ranked yet included); ALL: the items its rankings rank
                    List<Long> itemIds = restrictTo != null ? restrictTo : List.copyOf(covered);
                    String itemsSha = SnapshotScope.idsSha256(itemIds);
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO preference_snapshots(id, watermark, count, sha256, path,"
                            + " min_gold_agreement, excluded_annotators, scope, item_ids, item_ids_sha256)"
                            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                        ps.setObject(6, minGoldAgreement);
                        ps.setArray(7, excludedArr);
                        ps.setString(8, scope.name());
                        ps.setArray(9, c.createArrayOf("int8", itemIds.toArray()));
                        ps.setString(10, itemsSha);
                        ps.setLong(1, id);
                        ps.setLong(2, watermark);
                        ps.setInt(3, count);
                        ps.setString(4, sha);
                        ps.setString(5, finalPath.toString());
                        ps.executeUpdate();
                    }
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO snapshot_members(snapshot_id, event_id, line)"
                            + " SELECT ?, event_id, row_number() OVER (ORDER BY " + CANONICAL_ORDER + ") FROM ranking_events r WHERE seq <= ? AND NOT skip"
                            + " AND NOT (annotator_id = ANY (?)) AND " + IN_SCOPE
                            + " AND NOT EXISTS (SELECT 1 FROM ranking_events x WHERE x.supersedes = r.event_id AND x.seq <= ?)")) {
                        ps.setLong(1, id);
                        ps.setLong(2, watermark);
                        ps.setArray(3, excludedArr);
                        ps.setArray(4, itemsArr);
                        ps.setArray(5, itemsArr);
                        ps.setLong(6, watermark);
                        int members = ps.executeUpdate();
                        if (members != count) {
                            throw new IllegalStateException("snapshot members " + members + " != lines " + count);
                        }
                    }
                    Files.move(tmp, finalPath, StandardCopyOption.ATOMIC_MOVE);
                    finalPath.toFile().setReadOnly();
                    c.commit();
                    return new SnapshotInfo(id, watermark, count, sha, finalPath, scope.name(), itemIds, itemsSha);
                } catch (Exception e) {
                    c.rollback();
                    throw e;
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("creating snapshot in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Accepted (non-skipped) rankings of the scope's items durable in PostgreSQL now, an edited ranking counted once:
     * what a snapshot of that scope would hold before any gold gate.
     */
    public long countRankings(SnapshotScope scope) {
        List<Long> ids = scope instanceof SnapshotScope.Items items ? items.ids() : null;
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM ranking_events r WHERE NOT r.skip AND "
                     + IN_SCOPE + " AND NOT EXISTS (SELECT 1 FROM ranking_events x WHERE x.supersedes = r.event_id)")) {
            java.sql.Array arr = ids == null ? null : c.createArrayOf("int8", ids.toArray());
            ps.setArray(1, arr);
            ps.setArray(2, arr);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("counting rankings: " + e.getMessage(), e);
        }
    }

    /**
     * Waits until {@link #countRankings} reaches {@code needed}, looking every {@code poll}; calls {@code progress}
     * with each new count. Reads the database, not Kafka, so nothing it counts can be lost afterwards (the ingester
     * commits offsets only after the database commit). Fails naming the count after {@code limit}; stops at once
     * when its thread is interrupted (a cancelled run).
     *
     * @return the count it reached
     */
    public long awaitRankings(SnapshotScope scope, long needed, java.time.Duration limit, java.time.Duration poll,
                              java.util.function.LongConsumer progress) throws InterruptedException {
        if (needed < 1) {
            throw new IllegalArgumentException("rankings to wait for must be >= 1, got " + needed);
        }
        long deadline = System.nanoTime() + limit.toNanos();
        long last = -1;
        long have;
        while ((have = countRankings(scope)) < needed) {
            if (have != last) {
                progress.accept(have);
                last = have;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + have + " of " + needed + " rankings arrived within " + limit);
            }
            Thread.sleep(Math.max(1, poll.toMillis()));
        }
        return have;
    }

    /**
     * Accepted rankings that no snapshot has taken yet: the scheduled re-train's condition. A ranking counts as taken
     * once a snapshot whose watermark reaches it covers its item (an {@code ALL} snapshot covers every item), so one
     * run's snapshot of its own items neither resets the count for the other runs' rankings nor leaves its own counted.
     */
    public long rankingsNotYetSnapshotted() {
        String sql = """
                SELECT count(*) FROM ranking_events r
                WHERE NOT r.skip
                  AND r.seq > coalesce((SELECT max(watermark) FROM preference_snapshots WHERE scope = 'ALL'), 0)
                  AND NOT EXISTS (SELECT 1 FROM preference_snapshots s
                                  WHERE s.scope = 'ITEMS' AND s.watermark >= r.seq AND r.item_id = ANY (s.item_ids))""";
        try (Connection c = ds.getConnection(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException("counting new rankings: " + e.getMessage(), e);
        }
    }

    /** A ranking of the scope's items: two parameters, the item array twice (null for scope ALL). */
    /**
     * The snapshot's line order: by item, then annotator, then event id, never by ingestion seq. Kafka and HTTP deliver
     * the same rankings in a different order every run, and the reward model reads the lines in file order, so a
     * delivery-ordered file made the whole downstream run differ; with a canonical order the same rankings give the
     * same file byte for byte (and the same SHA-256) whatever order they arrived in.
     */
    static final String CANONICAL_ORDER = "r.item_id, r.annotator_id, r.event_id";

    private static final String IN_SCOPE = "(?::int8[] IS NULL OR r.item_id = ANY (?::int8[]))";

    /** One K-wise line; unsafe responses moved last (see class comment). */
    static String line(String eventId, String prompt, String[] responses, Integer[] ranking, Integer[] tiesFlat,
                       Integer[] unsafe, Integer[] strengths) {
        Set<Integer> bad = new HashSet<>(List.of(unsafe));
        List<Integer> order = new ArrayList<>();
        for (Integer r : ranking) {
            if (!bad.contains(r)) {
                order.add(r);
            }
        }
        for (Integer r : ranking) {
            if (bad.contains(r)) {
                order.add(r);
            }
        }
        ObjectNode n = EventCodec.JSON.createObjectNode();
        n.put("prompt", prompt);
        ArrayNode rs = n.putArray("responses");
        for (String s : responses) {
            rs.add(s);
        }
        ArrayNode rk = n.putArray("ranking");
        order.forEach(rk::add);
        ArrayNode ties = n.putArray("ties");
        List<seed.annotation.core.RankingEvent.Tie> given = new ArrayList<>();
        for (int i = 0; i + 1 < tiesFlat.length; i += 2) {
            given.add(new seed.annotation.core.RankingEvent.Tie(tiesFlat[i], tiesFlat[i + 1]));
        }
        // a tie the ranking contradicts (rows stored before RankingRules refused them) is left out; the ranking stands
        Set<seed.annotation.core.RankingEvent.Tie> agree = new HashSet<>(
                seed.annotation.core.RankingRules.consistentTies(List.of(ranking), given));
        for (int i = 0; i + 1 < tiesFlat.length; i += 2) {
            boolean adjacent = agree.contains(new seed.annotation.core.RankingEvent.Tie(tiesFlat[i], tiesFlat[i + 1]));
            if (adjacent && bad.contains(tiesFlat[i]) == bad.contains(tiesFlat[i + 1])) {
                ties.addArray().add(tiesFlat[i]).add(tiesFlat[i + 1]);
            }
        }
        // strengths grade the annotator's neighbouring pairs; with unsafe responses moved last the neighbours change,
        // so they are kept only for lines without unsafe flags
        if (strengths.length > 0 && bad.isEmpty()) {
            ArrayNode sg = n.putArray("strengths");
            for (Integer x : strengths) {
                sg.add(x);
            }
        }
        if (!bad.isEmpty()) {
            ArrayNode u = n.putArray("unsafe");
            for (Integer x : unsafe) {
                u.add(x);
            }
        }
        n.put("event_id", eventId);
        return n.toString();
    }

    public Optional<SnapshotInfo> get(long id) {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT id, watermark, count, sha256, path, scope, item_ids,"
                     + " item_ids_sha256 FROM preference_snapshots WHERE id = ?")) {
            ps.setLong(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                java.sql.Array items = rs.getArray(7);
                List<Long> itemIds = items == null ? List.of() : List.of((Long[]) items.getArray());
                return Optional.of(new SnapshotInfo(rs.getLong(1), rs.getLong(2), rs.getInt(3), rs.getString(4),
                        Path.of(rs.getString(5)), rs.getString(6), itemIds, rs.getString(8)));
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Recomputes the file's SHA-256 and compares it with the recorded one. */
    public static boolean verify(SnapshotInfo s) throws IOException {
        return Tokens.sha256Hex(Files.readAllBytes(s.path())).equals(s.sha256());
    }

    /**
     * Writes TRL-style {@code {"prompt","chosen","rejected"}} pairs from a K-wise snapshot file: every ordered pair of
     * the ranking that is not a tie. Written to a temp file and renamed.
     *
     * @return number of pairs written
     */
    /** TRL preference formats an export can take. */
    public enum TrlFormat {
        /** {"prompt","chosen","rejected"} strings, one line per ordered pair, with metadata columns */
        PAIRS,
        /** TRL's conversational form: "prompt" a user message list, "chosen"/"rejected" assistant message lists */
        CONVERSATIONAL,
        /**
         * one line per (prompt, pair) across annotators: the majority's choice, with the votes; pairs the annotators
         * split evenly on are left out
         */
        AGGREGATED
    }

    /**
     * Exports a snapshot for TRL's reward/DPO trainers. Every line carries the metadata columns {@code prompt_id},
     * {@code item_id}, {@code annotator_id} and {@code event_id} (aggregated: {@code prompt_id}, {@code item_id},
     * {@code votes_chosen}, {@code votes_rejected}, {@code annotators}). Ties yield no pair. Returns lines written.
     */
    public static long exportTrl(Path snapshotFile, Path out, TrlFormat format) throws IOException {
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        long n = 0;
        // aggregated: item -> (chosen, rejected) -> votes, and who ranked the item
        Map<Long, Map<Long, int[]>> votes = new java.util.LinkedHashMap<>();
        Map<Long, JsonNode> firstLine = new HashMap<>();
        Map<Long, Set<Long>> annotators = new HashMap<>();
        try (BufferedReader r = Files.newBufferedReader(snapshotFile, StandardCharsets.UTF_8);
             BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                JsonNode j = EventCodec.JSON.readTree(line);
                JsonNode resp = j.get("responses");
                JsonNode rank = j.get("ranking");
                long item = j.path("item_id").asLong(-1);
                Set<Long> ties = new HashSet<>();
                for (JsonNode t : j.get("ties")) {
                    ties.add(pairKey(t.get(0).intValue(), t.get(1).intValue()));
                }
                if (format == TrlFormat.AGGREGATED) {
                    firstLine.putIfAbsent(item, j);
                    annotators.computeIfAbsent(item, x -> new HashSet<>()).add(j.path("annotator_id").asLong());
                }
                for (int i = 0; i < rank.size(); i++) {
                    for (int k = i + 1; k < rank.size(); k++) {
                        int a = rank.get(i).intValue();
                        int b = rank.get(k).intValue();
                        if (ties.contains(pairKey(a, b))) {
                            continue;
                        }
                        if (format == TrlFormat.AGGREGATED) {
                            long key = pairKey(a, b);
                            int[] v = votes.computeIfAbsent(item, x -> new java.util.LinkedHashMap<>())
                                    .computeIfAbsent(key, x -> new int[2]);
                            v[a < b ? 0 : 1]++; // v[0]: the lower index won, v[1]: the higher one
                            continue;
                        }
                        ObjectNode p = EventCodec.JSON.createObjectNode();
                        if (format == TrlFormat.PAIRS) {
                            p.put("prompt", j.get("prompt").textValue());
                            p.put("chosen", resp.get(a).textValue());
                            p.put("rejected", resp.get(b).textValue());
                        } else {
                            p.putArray("prompt").addObject().put("role", "user").put("content", j.get("prompt").textValue());
                            p.putArray("chosen").addObject().put("role", "assistant").put("content", resp.get(a).textValue());
                            p.putArray("rejected").addObject().put("role", "assistant").put("content", resp.get(b).textValue());
                        }
                        JsonNode sg = j.get("strengths");
                        if (sg != null && sg.size() == rank.size() - 1) {
                            // TRL's RewardTrainer subtracts a "margin" column from the reward difference (Llama 2's
                            // margin loss): the sum of the neighbouring pairs' margins between the two
                            double m = 0;
                            for (int q = i; q < k; q++) {
                                m += seed.annotation.core.RankingRules.margin(sg.get(q).intValue());
                            }
                            p.put("margin", Math.round(m * 1e6) / 1e6);
                        }
                        p.set("prompt_id", j.get("prompt_id"));
                        p.set("item_id", j.get("item_id"));
                        p.set("annotator_id", j.get("annotator_id"));
                        p.put("event_id", j.get("event_id").textValue());
                        w.write(p.toString());
                        w.write('\n');
                        n++;
                    }
                }
            }
            for (var e : votes.entrySet()) {
                JsonNode j = firstLine.get(e.getKey());
                for (var pv : e.getValue().entrySet()) {
                    int lo = (int) (pv.getKey() >>> 32);
                    int hi = (int) (pv.getKey() & 0xffffffffL);
                    int[] v = pv.getValue();
                    if (v[0] == v[1]) {
                        continue;
                    }
                    int chosen = v[0] > v[1] ? lo : hi;
                    int rejected = v[0] > v[1] ? hi : lo;
                    ObjectNode p = EventCodec.JSON.createObjectNode();
                    p.put("prompt", j.get("prompt").textValue());
                    p.put("chosen", j.get("responses").get(chosen).textValue());
                    p.put("rejected", j.get("responses").get(rejected).textValue());
                    p.set("prompt_id", j.get("prompt_id"));
                    p.set("item_id", j.get("item_id"));
                    p.put("votes_chosen", Math.max(v[0], v[1]));
                    p.put("votes_rejected", Math.min(v[0], v[1]));
                    p.put("annotators", annotators.get(e.getKey()).size());
                    w.write(p.toString());
                    w.write('\n');
                    n++;
                }
            }
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return n;
    }

    public static long exportPairs(Path snapshotFile, Path out) throws IOException {
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        long n = 0;
        try (BufferedReader r = Files.newBufferedReader(snapshotFile, StandardCharsets.UTF_8);
             BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                JsonNode j = EventCodec.JSON.readTree(line);
                JsonNode resp = j.get("responses");
                JsonNode rank = j.get("ranking");
                Set<Long> ties = new HashSet<>();
                for (JsonNode t : j.get("ties")) {
                    int a = t.get(0).intValue();
                    int b = t.get(1).intValue();
                    ties.add(pairKey(a, b));
                }
                for (int i = 0; i < rank.size(); i++) {
                    for (int k = i + 1; k < rank.size(); k++) {
                        int a = rank.get(i).intValue();
                        int b = rank.get(k).intValue();
                        if (ties.contains(pairKey(a, b))) {
                            continue;
                        }
                        ObjectNode p = EventCodec.JSON.createObjectNode();
                        p.put("prompt", j.get("prompt").textValue());
                        p.put("chosen", resp.get(a).textValue());
                        p.put("rejected", resp.get(b).textValue());
                        w.write(p.toString());
                        w.write('\n');
                        n++;
                    }
                }
            }
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return n;
    }

    private static long pairKey(int a, int b) {
        return ((long) Math.min(a, b) << 32) | Math.max(a, b);
    }
}
