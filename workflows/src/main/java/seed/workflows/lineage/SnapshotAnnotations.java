package seed.workflows.lineage;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import javax.sql.DataSource;
import seed.annotation.stats.Agreement;

/**
 * The people behind a preference snapshot, read from the annotation tables: its ranking events, their annotators
 * (pseudonymous ids, never names), their agreement (mean Kendall's W over items ranked by two or more of them) and the
 * checkpoints that generated the ranked candidates. {@code members_sha256} digests (line, event id, annotator id,
 * item id, ranking, ties, skip) of every member, so a lineage record that embeds it proves later who ranked what.
 *
 * @param snapshotId          the snapshot
 * @param snapshotSha256      the SHA-256 of its file, as recorded by the annotation module
 * @param path                its file
 * @param rankings            member ranking events
 * @param annotators          rankings per annotator id
 * @param meanKendallW        agreement, null when no item had two rankings
 * @param itemsWithAgreement  items ranked by two or more annotators
 * @param candidateCheckpoints every distinct (path, SHA-256) of the checkpoints that generated the ranked candidates,
 *                            all of them: two hashes at one path (a model changed between two generations) are two
 *                            entries, so a snapshot cannot hide that some of its candidates came from another model
 * @param membersSha256       digest of the members (see above)
 * @param itemIds             the annotation items ranked (not stored in the record: the recorder uses them to find
 *                            the loads that created the items, the snapshot's inputs)
 */
public record SnapshotAnnotations(long snapshotId, String snapshotSha256, String path, int rankings,
        Map<Long, Integer> annotators, Double meanKendallW, int itemsWithAgreement,
        List<CandidateCheckpoint> candidateCheckpoints, String membersSha256, java.util.Set<Long> itemIds) {

    /** A checkpoint that generated ranked candidates; sha256 is "" when the annotation store did not record one. */
    public record CandidateCheckpoint(String path, String sha256) {
    }

    /**
     * The candidate checkpoints of a record's {@code annotations}: a list of {path, sha256} (since issue 18), or the
     * earlier path -> sha256 object, which kept one hash per path.
     */
    public static List<CandidateCheckpoint> candidateCheckpoints(com.fasterxml.jackson.databind.JsonNode annotations) {
        List<CandidateCheckpoint> out = new ArrayList<>();
        com.fasterxml.jackson.databind.JsonNode c = annotations.path("candidate_checkpoints");
        if (c.isArray()) {
            c.forEach(e -> out.add(new CandidateCheckpoint(e.path("path").asText(), e.path("sha256").asText())));
        } else {
            c.fields().forEachRemaining(e -> out.add(new CandidateCheckpoint(e.getKey(), e.getValue().asText())));
        }
        return out;
    }

    /** Reads a snapshot's annotations, or empty when no such snapshot exists. */
    public static Optional<SnapshotAnnotations> read(DataSource ds, long snapshotId) {
        try (Connection c = ds.getConnection()) {
            String sha;
            String path;
            try (PreparedStatement ps = c.prepareStatement("SELECT sha256, path FROM preference_snapshots WHERE id = ?")) {
                ps.setLong(1, snapshotId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.empty();
                    }
                    sha = rs.getString(1);
                    path = rs.getString(2);
                }
            }
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            Map<Long, Integer> annotators = new TreeMap<>();
            Map<Long, List<double[]>> byItem = new LinkedHashMap<>();
            java.util.Set<CandidateCheckpoint> checkpoints = new java.util.TreeSet<>(
                    java.util.Comparator.comparing(CandidateCheckpoint::path).thenComparing(CandidateCheckpoint::sha256));
            java.util.Set<Long> itemIds = new java.util.TreeSet<>();
            int count = 0;
            try (PreparedStatement ps = c.prepareStatement("SELECT m.line, r.event_id::text, r.annotator_id, r.item_id,"
                    + " r.ranking, r.ties, r.skip, i.k, s.checkpoint, coalesce(s.checkpoint_sha256, '')"
                    + " FROM snapshot_members m JOIN ranking_events r ON r.event_id = m.event_id"
                    + " JOIN annotation_items i ON i.id = r.item_id JOIN candidate_sets s ON s.id = i.candidate_set_id"
                    + " WHERE m.snapshot_id = ? ORDER BY m.line")) {
                ps.setLong(1, snapshotId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        int[] ranking = ints(rs.getArray(5));
                        int[] ties = ints(rs.getArray(6));
                        String line = rs.getInt(1) + "," + rs.getString(2) + "," + rs.getLong(3) + "," + rs.getLong(4)
                                + "," + java.util.Arrays.toString(ranking) + "," + java.util.Arrays.toString(ties) + ","
                                + rs.getBoolean(7) + "\n";
                        md.update(line.getBytes(StandardCharsets.UTF_8));
                        annotators.merge(rs.getLong(3), 1, Integer::sum);
                        if (!rs.getBoolean(7) && ranking.length == rs.getInt(8)) {
                            byItem.computeIfAbsent(rs.getLong(4), x -> new ArrayList<>())
                                    .add(Agreement.ranks(ranking, ties, rs.getInt(8)));
                        }
                        checkpoints.add(new CandidateCheckpoint(rs.getString(9), rs.getString(10).trim()));
                        itemIds.add(rs.getLong(4));
                        count++;
                    }
                }
            }
            double sumW = 0;
            int items = 0;
            for (List<double[]> ranks : byItem.values()) {
                if (ranks.size() >= 2) {
                    sumW += Agreement.kendallW(ranks);
                    items++;
                }
            }
            return Optional.of(new SnapshotAnnotations(snapshotId, sha.trim(), path, count, annotators,
                    items == 0 ? null : sumW / items, items, List.copyOf(checkpoints), HexFormat.of().formatHex(md.digest()),
                    itemIds));
        } catch (SQLException e) {
            throw new IllegalStateException("lineage: reading annotations of snapshot " + snapshotId + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int[] ints(java.sql.Array a) throws SQLException {
        Integer[] v = (Integer[]) a.getArray();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    /** As stored in a lineage record body (annotator ids as strings: JSON object keys). */
    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("snapshot_id", snapshotId);
        m.put("snapshot_sha256", snapshotSha256);
        m.put("path", path);
        m.put("rankings", rankings);
        Map<String, Object> ann = new TreeMap<>();
        annotators.forEach((k, v) -> ann.put(String.valueOf(k), v));
        m.put("annotators", ann);
        m.put("mean_kendall_w", meanKendallW);
        m.put("items_with_agreement", itemsWithAgreement);
        List<Map<String, Object>> checkpoints = new ArrayList<>();
        for (CandidateCheckpoint c : candidateCheckpoints) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("path", c.path());
            e.put("sha256", c.sha256());
            checkpoints.add(e);
        }
        m.put("candidate_checkpoints", checkpoints);
        m.put("members_sha256", membersSha256);
        return m;
    }
}
