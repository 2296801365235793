package seed.annotation.core;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * Everything annotation needs from PostgreSQL besides the ingester: candidates and items, annotators and their
 * tokens, assignments (who ranks what) and the claim that makes a second submission impossible. Items and
 * annotators never change once created, so they are cached (items up to a limit: an item holds its prompt and
 * responses). SQL only through prepared statements.
 */
public final class Catalog {

    private final DataSource ds;
    private final DataSource claimsDs;
    private final BoundedCache<Long, Item> items;
    private final ConcurrentHashMap<String, Annotator> byTokenHash = new ConcurrentHashMap<>();

    /**
     * Items kept in memory by default (-Dseed.catalog.item-cache): an item is read again by each of its N annotators
     * and on page reloads, so recent ones are worth keeping; all of them were not (issue 19: {@code serve}'s old
     * generation grew ~20 MB per 10k submissions, every item served with its prompt and responses staying cached).
     */
    public static final int DEFAULT_ITEM_CACHE = Integer.getInteger("seed.catalog.item-cache", 10_000);

    public Catalog(DataSource ds) {
        this(ds, null);
    }

    /**
     * @param claimsDs optional separate pool for {@link #claim} (the HTTP hot path, so claims never queue behind
     *                 slower queries); null = claim on {@code ds}
     */
    public Catalog(DataSource ds, DataSource claimsDs) {
        this(ds, claimsDs, DEFAULT_ITEM_CACHE);
    }

    /** @param itemCacheLimit most items kept in memory (at least 1) */
    public Catalog(DataSource ds, DataSource claimsDs, int itemCacheLimit) {
        this.ds = ds;
        this.claimsDs = claimsDs;
        this.items = new BoundedCache<>(itemCacheLimit);
    }

    /** Items held in memory now (the limit at most, give or take the lookups racing at the moment it is reached). */
    public int cachedItems() {
        return items.size();
    }


    public DataSource dataSource() {
        return ds;
    }

    /** A candidate line that failed to load: which line and why. */
    public static final class LoadException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public LoadException(String message) {
            super(message);
        }
    }

    /** One parsed candidates line. */
    public record Candidate(String prompt, List<String> responses, String checkpoint, String checkpointSha256,
                            List<Integer> gold, Integer annotators) {
    }

    /** Result of loading a candidates file: the ids of the created items, in file order. */
    public record LoadResult(List<Long> itemIds) {
    }

    /**
     * Reads a JSONL file of {@code {"prompt", "responses", "checkpoint", "checkpoint_sha256"?, "gold"?, "annotators"?}}
     * and creates prompts, candidate sets and items, each to be ranked by {@code annotatorsPerItem} people (or the
     * line's own "annotators"). Every line is checked before anything is written; one transaction for the file.
     */
    public LoadResult loadCandidates(Path jsonl, int annotatorsPerItem) throws IOException {
        return new LoadResult(createItems(parseCandidates(jsonl), annotatorsPerItem, "candidates"));
    }

    /**
     * Reads and checks every line of a candidates file without writing anything, so a command can refuse a bad file
     * before it starts any service.
     */
    public static List<Candidate> parseCandidates(Path jsonl) throws IOException {
        try (BufferedReader r = Files.newBufferedReader(jsonl, StandardCharsets.UTF_8)) {
            return parseCandidates(r, jsonl.toString());
        } catch (java.nio.charset.MalformedInputException e) {
            throw new LoadException(jsonl + ": not UTF-8 text");
        }
    }

    /** Same as {@link #loadCandidates} for JSONL text (the operators' HTTP load); {@code where} names it in errors. */
    public LoadResult loadCandidatesText(String jsonl, String where, int annotatorsPerItem) throws IOException {
        return new LoadResult(createItems(parseCandidates(new BufferedReader(new java.io.StringReader(jsonl)), where),
                annotatorsPerItem, "candidates"));
    }

    private static List<Candidate> parseCandidates(BufferedReader r, String where) throws IOException {
        List<Candidate> cands = new ArrayList<>();
        String line;
        int no = 0;
        while ((line = r.readLine()) != null) {
            no++;
            if (line.isBlank()) {
                continue;
            }
            cands.add(parseCandidate(line, where + ":" + no));
        }
        if (cands.isEmpty()) {
            throw new LoadException(where + ": no candidate lines");
        }
        return cands;
    }

    /** Parses and checks one candidates line; {@code where} ("file:line") prefixes every error. */
    public static Candidate parseCandidate(String line, String where) {
        JsonNode n;
        try {
            n = EventCodec.JSON.readTree(line);
        } catch (IOException e) {
            throw new LoadException(where + ": malformed JSON: " + e.getMessage().split("\n")[0]);
        }
        if (n == null || !n.isObject()) {
            throw new LoadException(where + ": not a JSON object");
        }
        JsonNode p = n.get("prompt");
        if (p == null || !p.isTextual() || p.textValue().isBlank()) {
            throw new LoadException(where + ": field \"prompt\" is missing, empty or not a string");
        }
        if (p.textValue().indexOf('\u0000') >= 0) {
            throw new LoadException(where + ": field \"prompt\" contains a NUL character (U+0000), which PostgreSQL "
                    + "text cannot store");
        }
        JsonNode rs = n.get("responses");
        if (rs == null || !rs.isArray() || rs.size() < 2) {
            throw new LoadException(where + ": field \"responses\" must be an array of at least 2 strings");
        }
        List<String> responses = new ArrayList<>();
        for (JsonNode x : rs) {
            if (!x.isTextual()) {
                throw new LoadException(where + ": field \"responses\" must hold only strings, got " + x);
            }
            if (x.textValue().indexOf('\u0000') >= 0) {
                throw new LoadException(where + ": response " + responses.size() + " contains a NUL character "
                        + "(U+0000), which PostgreSQL text cannot store (seed candidates writes U+FFFD instead)");
            }
            responses.add(x.textValue());
        }
        JsonNode ck = n.get("checkpoint");
        if (ck == null || !ck.isTextual() || ck.textValue().isBlank()) {
            throw new LoadException(where + ": field \"checkpoint\" (path or id of the generating checkpoint) is missing");
        }
        JsonNode sha = n.get("checkpoint_sha256");
        String shaText = null;
        if (sha != null && !sha.isNull()) {
            if (!sha.isTextual() || !sha.textValue().matches("[0-9a-fA-F]{64}")) {
                throw new LoadException(where + ": field \"checkpoint_sha256\" must be 64 hex digits");
            }
            shaText = sha.textValue().toLowerCase();
        }
        List<Integer> gold = null;
        if (n.has("gold") && !n.get("gold").isNull()) {
            try {
                gold = EventCodec.ints(n, "gold");
            } catch (EventCodec.DecodeException e) {
                throw new LoadException(where + ": field \"gold\": " + e.getMessage());
            }
            String bad = RankingRules.check(gold, List.of(), false, List.of(), responses.size());
            if (bad != null) {
                throw new LoadException(where + ": field \"gold\": " + bad);
            }
        }
        Integer ann = null;
        if (n.has("annotators")) {
            JsonNode a = n.get("annotators");
            if (!a.isInt() || a.intValue() < 1) {
                throw new LoadException(where + ": field \"annotators\" must be a positive integer");
            }
            ann = a.intValue();
        }
        return new Candidate(p.textValue(), responses, ck.textValue(), shaText, gold, ann);
    }

    /** Creates prompts (deduplicated), candidate sets and items in one transaction; returns the item ids. */
    public List<Long> createItems(List<Candidate> cands, int annotatorsPerItem, String source) {
        if (annotatorsPerItem < 1) {
            throw new IllegalArgumentException("annotators per item must be >= 1, got " + annotatorsPerItem);
        }
        List<Long> ids = new ArrayList<>(cands.size());
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement prompt = c.prepareStatement(
                         "INSERT INTO prompts(text, sha256) VALUES (?, ?) ON CONFLICT (sha256) DO UPDATE SET sha256 = EXCLUDED.sha256 RETURNING id");
                 PreparedStatement set = c.prepareStatement(
                         "INSERT INTO candidate_sets(prompt_id, responses, checkpoint, checkpoint_sha256, source) VALUES (?, ?, ?, ?, ?) RETURNING id");
                 PreparedStatement item = c.prepareStatement(
                         "INSERT INTO annotation_items(candidate_set_id, k, annotators_needed, gold_order) VALUES (?, ?, ?, ?) RETURNING id")) {
                for (Candidate cand : cands) {
                    prompt.setString(1, cand.prompt());
                    prompt.setString(2, Tokens.sha256Hex(cand.prompt()));
                    long promptId = single(prompt);
                    set.setLong(1, promptId);
                    set.setArray(2, c.createArrayOf("text", cand.responses().toArray()));
                    set.setString(3, cand.checkpoint());
                    set.setString(4, cand.checkpointSha256());
                    set.setString(5, source);
                    long setId = single(set);
                    item.setLong(1, setId);
                    item.setInt(2, cand.responses().size());
                    item.setInt(3, cand.annotators() != null ? cand.annotators() : annotatorsPerItem);
                    item.setArray(4, cand.gold() == null ? null : c.createArrayOf("int4", cand.gold().toArray()));
                    ids.add(single(item));
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                rollbackKeeping(c, e);
                throw e;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("creating items: " + e.getMessage(), e);
        }
        return ids;
    }

    private static long single(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** A new annotator and the token to give them; only its hash is stored, so print it once. */
    public record NewAnnotator(Annotator annotator, String token) {
    }

    /** Creates a person with one of {@link Annotator#ROLES}; names are unique and at most 200 characters. */
    public NewAnnotator createAnnotator(String name, String role) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("annotator name is empty");
        }
        if (name.length() > 200 || name.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("annotator name must be at most 200 characters without control characters");
        }
        if (!Annotator.ROLES.contains(role)) {
            throw new IllegalArgumentException("role must be one of " + String.join(", ", Annotator.ROLES) + ", got " + role);
        }
        String token = Tokens.newToken();
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "INSERT INTO annotators(name, role, token_sha256) VALUES (?, ?, ?) RETURNING id")) {
            ps.setString(1, name);
            ps.setString(2, role);
            ps.setString(3, Tokens.sha256Hex(token));
            return new NewAnnotator(new Annotator(single(ps), name, role), token);
        } catch (SQLException e) {
            if ("23505".equals(e.getSQLState())) {
                throw new IllegalArgumentException("an annotator named '" + name + "' already exists");
            }
            throw new IllegalStateException("creating annotator: " + e.getMessage(), e);
        }
    }

    /** Finds an annotator by name (for the importer's own identity). */
    public Optional<Annotator> annotatorByName(String name) {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT id, name, role FROM annotators WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new Annotator(rs.getLong(1), rs.getString(2), rs.getString(3))) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The identity a personal token belongs to, or empty for an unknown token: the one entry point every Seed HTTP
     * server (annotator page, operator API, auditor page) authenticates through; pair it with
     * {@code seed.annotation.web.AuthHeader.token} for the header. Only the token's SHA-256 is looked up.
     */
    public Optional<Annotator> authenticate(String token) {
        if (token == null || token.isBlank() || token.length() > 200) {
            return Optional.empty();
        }
        String hash = Tokens.sha256Hex(token);
        Annotator cached = byTokenHash.get(hash);
        if (cached != null) {
            return Optional.of(cached);
        }
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT id, name, role FROM annotators WHERE token_sha256 = ?")) {
            ps.setString(1, hash);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                Annotator a = new Annotator(rs.getLong(1), rs.getString(2), rs.getString(3));
                byTokenHash.put(hash, a);
                return Optional.of(a);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The item, or empty when no such item exists. Items are immutable, hence cached. */
    public Optional<Item> item(long itemId) {
        Item cached = items.get(itemId);
        if (cached != null) {
            return Optional.of(cached);
        }
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT i.id, p.text, s.responses, s.checkpoint, i.gold_order"
                     + " FROM annotation_items i JOIN candidate_sets s ON s.id = i.candidate_set_id"
                     + " JOIN prompts p ON p.id = s.prompt_id WHERE i.id = ?")) {
            ps.setLong(1, itemId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                Item it = new Item(rs.getLong(1), rs.getString(2), Arrays.asList((String[]) rs.getArray(3).getArray()),
                        rs.getString(4), intList(rs.getArray(5)));
                items.put(itemId, it);
                return Optional.of(it);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<Integer> intList(Array a) throws SQLException {
        if (a == null) {
            return null;
        }
        return List.of((Integer[]) a.getArray());
    }

    /**
     * The annotator's next item: an open assignment they already hold, else a new assignment on an item that still
     * needs annotators and that they never had (so no one sees an item twice and each item goes to N people).
     */
    public Optional<Item> nextItem(long annotatorId) {
        try (Connection c = ds.getConnection()) {
            try (PreparedStatement open = c.prepareStatement("SELECT item_id FROM assignments WHERE annotator_id = ?"
                    + " AND submitted_event_id IS NULL ORDER BY assigned_at, item_id LIMIT 1")) {
                open.setLong(1, annotatorId);
                try (ResultSet rs = open.executeQuery()) {
                    if (rs.next()) {
                        return item(rs.getLong(1));
                    }
                }
            }
            c.setAutoCommit(false);
            try (PreparedStatement pick = c.prepareStatement("SELECT i.id FROM annotation_items i"
                    + " WHERE i.assigned_count < i.annotators_needed AND NOT EXISTS"
                    + " (SELECT 1 FROM assignments a WHERE a.item_id = i.id AND a.annotator_id = ?)"
                    + " ORDER BY i.id LIMIT 1 FOR UPDATE SKIP LOCKED");
                 PreparedStatement assign = c.prepareStatement(
                         "INSERT INTO assignments(item_id, annotator_id) VALUES (?, ?)");
                 PreparedStatement count = c.prepareStatement(
                         "UPDATE annotation_items SET assigned_count = assigned_count + 1 WHERE id = ?")) {
                pick.setLong(1, annotatorId);
                long itemId;
                try (ResultSet rs = pick.executeQuery()) {
                    if (!rs.next()) {
                        c.rollback();
                        return Optional.empty();
                    }
                    itemId = rs.getLong(1);
                }
                assign.setLong(1, itemId);
                assign.setLong(2, annotatorId);
                assign.executeUpdate();
                count.setLong(1, itemId);
                count.executeUpdate();
                c.commit();
                return item(itemId);
            } catch (SQLException | RuntimeException e) {
                rollbackKeeping(c, e);
                throw e;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("assigning next item: " + e.getMessage(), e);
        }
    }

    /** Assigns an item directly (importer, benchmarks); no-op if already assigned. */
    public void assign(long itemId, long annotatorId) {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("WITH ins AS (INSERT INTO assignments(item_id, annotator_id)"
                     + " VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING item_id)"
                     + " UPDATE annotation_items SET assigned_count = assigned_count + 1 WHERE id IN (SELECT item_id FROM ins)")) {
            ps.setLong(1, itemId);
            ps.setLong(2, annotatorId);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("assigning item " + itemId + ": " + e.getMessage(), e);
        }
    }

    /** Outcome of claiming an assignment for a submission. */
    public enum Claim { CLAIMED, NOT_ASSIGNED, ALREADY_SUBMITTED }

    /**
     * Claims an assignment for an edit: the claim moves from the stored event {@code supersedes} to the edit's new
     * event, remembering the old one so a claim given back returns to it. Only the current, stored ranking can be
     * edited (an edit of an older version, or of one still on its way, finds nothing to move: ALREADY_SUBMITTED).
     */
    public Claim claimEdit(long itemId, long annotatorId, UUID supersedes, UUID eventId) {
        try (Connection c = (claimsDs != null ? claimsDs : ds).getConnection()) {
            try (PreparedStatement ps = c.prepareStatement("UPDATE assignments a SET submitted_event_id = ?,"
                    + " superseded_event_id = a.submitted_event_id, submitted_at = now()"
                    + " WHERE a.item_id = ? AND a.annotator_id = ? AND a.submitted_event_id = ?"
                    + " AND EXISTS (SELECT 1 FROM ranking_events r WHERE r.event_id = ?)")) {
                ps.setObject(1, eventId);
                ps.setLong(2, itemId);
                ps.setLong(3, annotatorId);
                ps.setObject(4, supersedes);
                ps.setObject(5, supersedes);
                if (ps.executeUpdate() == 1) {
                    return Claim.CLAIMED;
                }
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT 1 FROM assignments WHERE item_id = ? AND annotator_id = ?")) {
                ps.setLong(1, itemId);
                ps.setLong(2, annotatorId);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Claim.ALREADY_SUBMITTED : Claim.NOT_ASSIGNED;
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("claiming an edit: " + e.getMessage(), e);
        }
    }

    /**
     * Marks the annotator's assignment of the item as submitted with this event id, atomically: the second of two
     * concurrent submissions finds it taken. On the claims pool it commits with synchronous_commit off; the caller
     * makes it durable with a {@link WalFlusher} before acknowledging, because the ingester stores only the claimed
     * event of an assignment, so a claim lost in a database crash would lose an acknowledged ranking.
     */
    public Claim claim(long itemId, long annotatorId, UUID eventId) {
        return onClaimsPool(c -> claimOnce(c, itemId, annotatorId, eventId));
    }

    /** A statement on the claims connection, with its own SQL. */
    @FunctionalInterface
    private interface ClaimWork<T> {
        T run(Connection c) throws SQLException;
    }

    /**
     * Runs a claim on the claims pool. A connection broken by a database restart fails the statement; Hikari then
     * evicts it, and the claim is tried again on another. That retry is safe because every claim UPDATE also matches
     * a claim by its very event id (the first attempt may have committed before its connection died).
     */
    private <T> T onClaimsPool(ClaimWork<T> work) {
        SQLException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try (Connection c = (claimsDs != null ? claimsDs : ds).getConnection()) {
                return work.run(c);
            } catch (SQLException e) {
                last = e;
                if (!connectionLost(e)) {
                    break;
                }
            }
        }
        throw new IllegalStateException("claiming assignment: " + last.getMessage(), last);
    }

    /**
     * {@link #claim} for an item that is not cached yet, with the item's number of responses checked in the same
     * statement, so a plain ranking costs one round trip instead of an item lookup and then the claim (the item's
     * K is what the ranking rules need; a ranking of {@code k} responses was checked against {@code k} already).
     *
     * @return true when claimed; false when nothing changed (no such item, another K, not assigned, already
     *         claimed): the caller then looks the item up and takes the full path, which names the reason
     */
    public boolean claimWithK(long itemId, long annotatorId, int k, UUID eventId) {
        return onClaimsPool(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE assignments a SET submitted_event_id = ?, submitted_at = now()"
                    + " FROM annotation_items i WHERE a.item_id = ? AND a.annotator_id = ?"
                    + " AND (a.submitted_event_id IS NULL OR a.submitted_event_id = ?) AND i.id = a.item_id AND i.k = ?")) {
                ps.setObject(1, eventId);
                ps.setLong(2, itemId);
                ps.setLong(3, annotatorId);
                ps.setObject(4, eventId);
                ps.setInt(5, k);
                return ps.executeUpdate() == 1;
            }
        });
    }

    /** The item if it is cached (no database access), else null. */
    public Item cachedItem(long itemId) {
        return items.get(itemId);
    }

    private static Claim claimOnce(Connection c, long itemId, long annotatorId, UUID eventId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE assignments SET submitted_event_id = ?, submitted_at = now()"
                + " WHERE item_id = ? AND annotator_id = ? AND (submitted_event_id IS NULL OR submitted_event_id = ?)")) {
            ps.setObject(1, eventId);
            ps.setLong(2, itemId);
            ps.setLong(3, annotatorId);
            ps.setObject(4, eventId);
            if (ps.executeUpdate() == 1) {
                return Claim.CLAIMED;
            }
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM assignments WHERE item_id = ? AND annotator_id = ?")) {
            ps.setLong(1, itemId);
            ps.setLong(2, annotatorId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Claim.ALREADY_SUBMITTED : Claim.NOT_ASSIGNED;
            }
        }
    }

    /** Whether a failure means the connection (not the statement) failed: class 08, 57P0x (server shutting down). */
    /**
     * Rolls back after {@code failure}; when the connection is already gone (the database stopped or restarted), the
     * rollback's own "Connection is closed" is kept as suppressed instead of replacing the failure, so the caller
     * still sees the real cause (57P01, 08006) and answers 503, not 500.
     */
    static void rollbackKeeping(Connection c, Exception failure) {
        try {
            c.rollback();
        } catch (SQLException r) {
            failure.addSuppressed(r);
        }
    }

    public static boolean connectionLost(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && s.getSQLState() != null
                    && (s.getSQLState().startsWith("08") || s.getSQLState().startsWith("57P"))) {
                return true;
            }
            if (t instanceof java.sql.SQLTransientConnectionException) {
                return true;
            }
        }
        return false;
    }

    /** Whether the assignment is still claimed by this event (read after a WAL flush: then it is durable). */
    public boolean holdsClaim(long itemId, long annotatorId, UUID eventId) {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT 1 FROM assignments WHERE item_id = ? AND annotator_id = ?"
                     + " AND submitted_event_id = ?")) {
            ps.setLong(1, itemId);
            ps.setLong(2, annotatorId);
            ps.setObject(3, eventId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("checking claim: " + e.getMessage(), e);
        }
    }

    /**
     * An assignment's existing claim, for answering a second submission: the claimed event, how old the claim is,
     * and the stored ranking when the ingester has it (null while it is still on its way or stranded).
     */
    public record ExistingClaim(UUID eventId, long ageMs, Stored stored) {
    }

    /** A stored ranking as the ingester wrote it, with where it was in Kafka. */
    public record Stored(UUID eventId, List<Integer> ranking, List<RankingEvent.Tie> ties, boolean skip,
                         List<Integer> unsafe, String comment, int partition, long offset, List<Integer> strengths) {

        /** Whether a submission carries the same judgement (ties and unsafe compared as sets, no comment = empty). */
        public boolean sameAs(Submission s) {
            return skip == s.skip() && ranking.equals(s.ranking()) && tieSet(ties).equals(tieSet(s.ties()))
                    && new java.util.HashSet<>(unsafe).equals(new java.util.HashSet<>(s.unsafe()))
                    && java.util.Objects.equals(blankToNull(comment), blankToNull(s.comment()))
                    && strengths.equals(s.strengths());
        }

        private static java.util.Set<List<Integer>> tieSet(List<RankingEvent.Tie> ts) {
            java.util.Set<List<Integer>> out = new java.util.HashSet<>();
            for (RankingEvent.Tie t : ts) {
                out.add(List.of(Math.min(t.a(), t.b()), Math.max(t.a(), t.b())));
            }
            return out;
        }

        private static String blankToNull(String x) {
            return x == null || x.isEmpty() ? null : x;
        }
    }

    /** The claim on an assignment, or empty when it is not claimed (or does not exist). */
    public Optional<ExistingClaim> existingClaim(long itemId, long annotatorId) {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT a.submitted_event_id,"
                     + " (extract(epoch FROM (now() - a.submitted_at)) * 1000)::bigint,"
                     + " r.event_id, r.ranking, r.ties, r.skip, r.unsafe, r.comment, r.kafka_partition, r.kafka_offset,"
                     + " r.strengths"
                     + " FROM assignments a LEFT JOIN ranking_events r ON r.event_id = a.submitted_event_id"
                     + " WHERE a.item_id = ? AND a.annotator_id = ? AND a.submitted_event_id IS NOT NULL")) {
            ps.setLong(1, itemId);
            ps.setLong(2, annotatorId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                Stored stored = null;
                if (rs.getObject(3) != null) {
                    Integer[] flat = (Integer[]) rs.getArray(5).getArray();
                    List<RankingEvent.Tie> ties = new ArrayList<>();
                    for (int i = 0; i + 1 < flat.length; i += 2) {
                        ties.add(new RankingEvent.Tie(flat[i], flat[i + 1]));
                    }
                    stored = new Stored((UUID) rs.getObject(3), intList(rs.getArray(4)), ties, rs.getBoolean(6),
                            intList(rs.getArray(7)), rs.getString(8), rs.getInt(9), rs.getLong(10), intList(rs.getArray(11)));
                }
                return Optional.of(new ExistingClaim((UUID) rs.getObject(1), rs.getLong(2), stored));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("reading claim: " + e.getMessage(), e);
        }
    }

    /**
     * Gives a claim back when Kafka did not take the record, so the annotator can submit again; never when the event
     * is stored after all.
     */
    public void releaseClaim(long itemId, long annotatorId, UUID eventId) {
        try (Connection c = ds.getConnection();
             // an edit's claim goes back to the ranking it was to replace; a first submission's to "not submitted"
             PreparedStatement ps = c.prepareStatement("UPDATE assignments SET submitted_event_id = superseded_event_id,"
                     + " submitted_at = CASE WHEN superseded_event_id IS NULL THEN NULL ELSE submitted_at END,"
                     + " superseded_event_id = NULL"
                     + " WHERE item_id = ? AND annotator_id = ? AND submitted_event_id = ?"
                     + " AND NOT EXISTS (SELECT 1 FROM ranking_events r WHERE r.event_id = ?)")) {
            ps.setLong(1, itemId);
            ps.setLong(2, annotatorId);
            ps.setObject(3, eventId);
            ps.setObject(4, eventId);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("releasing claim: " + e.getMessage(), e);
        }
    }

    /**
     * One definition of an annotator's progress, shown the same on the page, in {@code /api/me/progress} and in the
     * operators' {@code /api/progress} (issue 19: the three disagreed).
     *
     * @param done       assignments submitted (rankings and skips)
     * @param skipped    of those, skips (as stored by the ingester; a skip still on its way counts in done only)
     * @param inProgress assignments held and not yet submitted
     * @param available  items that still need annotators and that this person never had (each may go to others
     *                   first, so this is an upper bound)
     */
    public record Progress(long done, long skipped, long inProgress, long available) {
        /** Items this person can still rank: the ones held plus the ones still available. */
        public long left() {
            return inProgress + available;
        }

        /** Assignments ever held (done or not). */
        public long assigned() {
            return done + inProgress;
        }
    }

    private static final String PROGRESS_COLUMNS = "count(s.submitted_event_id),"
            + " (SELECT count(*) FROM assignments y JOIN ranking_events r ON r.event_id = y.submitted_event_id"
            + "   WHERE y.annotator_id = a.id AND r.skip),"
            + " count(s.item_id) - count(s.submitted_event_id),"
            + " (SELECT count(*) FROM annotation_items i WHERE i.assigned_count < i.annotators_needed AND NOT EXISTS"
            + "   (SELECT 1 FROM assignments x WHERE x.item_id = i.id AND x.annotator_id = a.id))";

    /** The caller's own progress (see {@link Progress}). */
    public Progress progress(long annotatorId) {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT " + PROGRESS_COLUMNS
                     + " FROM annotators a LEFT JOIN assignments s ON s.annotator_id = a.id WHERE a.id = ? GROUP BY a.id")) {
            ps.setLong(1, annotatorId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new Progress(0, 0, 0, 0);
                }
                return new Progress(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("reading progress: " + e.getMessage(), e);
        }
    }

    /** Every ranker's progress, for the operators' view: the same {@link Progress} as the annotator sees. */
    public record AnnotatorProgress(long annotatorId, String name, String role, Progress progress) {
    }

    public List<AnnotatorProgress> progressByAnnotator() {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT a.id, a.name, a.role, " + PROGRESS_COLUMNS
                     + " FROM annotators a LEFT JOIN assignments s ON s.annotator_id = a.id"
                     + " WHERE a.role IN ('annotator', 'importer') GROUP BY a.id ORDER BY a.name");
             ResultSet rs = ps.executeQuery()) {
            List<AnnotatorProgress> out = new ArrayList<>();
            while (rs.next()) {
                out.add(new AnnotatorProgress(rs.getLong(1), rs.getString(2), rs.getString(3),
                        new Progress(rs.getLong(4), rs.getLong(5), rs.getLong(6), rs.getLong(7))));
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException("reading progress: " + e.getMessage(), e);
        }
    }

    /**
     * One of an annotator's submissions for their history: when it was submitted, and what is stored (null while the
     * event is still on its way to the database).
     */
    public record SubmittedItem(long itemId, java.time.Instant submittedAt, UUID eventId, Stored stored) {
    }

    /** The annotator's submissions, newest first (at most {@code limit}), so the page can show what they submitted. */
    public List<SubmittedItem> submissions(long annotatorId, int limit) {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT a.item_id, a.submitted_at, a.submitted_event_id,"
                     + " r.event_id, r.ranking, r.ties, r.skip, r.unsafe, r.comment, r.kafka_partition, r.kafka_offset,"
                     + " r.strengths"
                     + " FROM assignments a LEFT JOIN ranking_events r ON r.event_id = a.submitted_event_id"
                     + " WHERE a.annotator_id = ? AND a.submitted_event_id IS NOT NULL"
                     + " ORDER BY a.submitted_at DESC, a.item_id DESC LIMIT ?")) {
            ps.setLong(1, annotatorId);
            ps.setInt(2, limit);
            List<SubmittedItem> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Stored stored = null;
                    if (rs.getObject(4) != null) {
                        Integer[] flat = (Integer[]) rs.getArray(6).getArray();
                        List<RankingEvent.Tie> ties = new ArrayList<>();
                        for (int i = 0; i + 1 < flat.length; i += 2) {
                            ties.add(new RankingEvent.Tie(flat[i], flat[i + 1]));
                        }
                        stored = new Stored((UUID) rs.getObject(4), intList(rs.getArray(5)), ties, rs.getBoolean(7),
                                intList(rs.getArray(8)), rs.getString(9), rs.getInt(10), rs.getLong(11),
                                intList(rs.getArray(12)));
                    }
                    java.sql.Timestamp at = rs.getTimestamp(2);
                    out.add(new SubmittedItem(rs.getLong(1), at == null ? null : at.toInstant(), (UUID) rs.getObject(3), stored));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException("reading submissions: " + e.getMessage(), e);
        }
    }

    /** Whether the annotator holds an assignment (open or submitted) for the item. */
    public boolean isAssigned(long itemId, long annotatorId) {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT 1 FROM assignments WHERE item_id = ? AND annotator_id = ?")) {
            ps.setLong(1, itemId);
            ps.setLong(2, annotatorId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
