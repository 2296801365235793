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
 * @param candidateCheckpoints checkpoint path -> its SHA-256 (or "" when not recorded) that generated the candidates
 * @param membersSha256       digest of the members (see above)
 */
public record SnapshotAnnotations(long snapshotId, String snapshotSha256, String path, int rankings,
        Map<Long, Integer> annotators, Double meanKendallW, int itemsWithAgreement,
        Map<String, String> candidateCheckpoints, String membersSha256) {

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
            Map<String, String> checkpoints = new TreeMap<>();
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
                        checkpoints.putIfAbsent(rs.getString(9), rs.getString(10).trim());
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
                    items == 0 ? null : sumW / items, items, checkpoints, HexFormat.of().formatHex(md.digest())));
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
        m.put("candidate_checkpoints", candidateCheckpoints);
        m.put("members_sha256", membersSha256);
        return m;
    }
}
