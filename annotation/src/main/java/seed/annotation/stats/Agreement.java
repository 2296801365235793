package seed.annotation.stats;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.sql.DataSource;

/**
 * Agreement between annotators, for operators: Kendall's W per item (with the tie correction) over the annotators
 * who ranked it, and per annotator the mean Spearman correlation with the other annotators (leave-one-out mean ranks)
 * and with gold items' known order. Skipped rankings are left out.
 */
public final class Agreement {

    private Agreement() {
    }

    /** Per-item agreement: W in [0, 1], null when fewer than two annotators ranked the item. */
    public record ItemAgreement(long itemId, int k, int annotators, Double kendallW, boolean gold) {
    }

    /** Per-annotator agreement: means over items shared with others / over gold items; null when none. */
    public record AnnotatorAgreement(long annotatorId, String name, int rankings, int skips, int unsafeFlags,
                                     Double spearmanWithOthers, int sharedItems, Double spearmanWithGold, int goldItems) {
    }

    /** Everything {@code seed annotate stats} shows. */
    public record Report(long rankings, long skips, long rejected, int itemsWithAgreement, Double meanKendallW,
                         List<ItemAgreement> items, List<AnnotatorAgreement> annotators) {
    }

    /** Ranks (1 = best) of each response from a best-first order; tied responses share the mean of their positions. */
    public static double[] ranks(int[] order, int[] tiesFlat, int k) {
        int[] parent = new int[k];
        for (int i = 0; i < k; i++) {
            parent[i] = i;
        }
        for (int i = 0; i + 1 < tiesFlat.length; i += 2) {
            parent[find(parent, tiesFlat[i])] = find(parent, tiesFlat[i + 1]);
        }
        double[] pos = new double[k];
        for (int p = 0; p < order.length; p++) {
            pos[order[p]] = p + 1;
        }
        Map<Integer, double[]> groups = new HashMap<>();
        for (int i = 0; i < k; i++) {
            double[] g = groups.computeIfAbsent(find(parent, i), x -> new double[2]);
            g[0] += pos[i];
            g[1] += 1;
        }
        double[] r = new double[k];
        for (int i = 0; i < k; i++) {
            double[] g = groups.get(find(parent, i));
            r[i] = g[0] / g[1];
        }
        return r;
    }

    private static int find(int[] p, int x) {
        while (p[x] != x) {
            p[x] = p[p[x]];
            x = p[x];
        }
        return x;
    }

    /** Kendall's W of m rank vectors over n objects, with the standard correction for ties. */
    public static double kendallW(List<double[]> rankings) {
        int m = rankings.size();
        int n = rankings.get(0).length;
        double[] sums = new double[n];
        for (double[] r : rankings) {
            for (int i = 0; i < n; i++) {
                sums[i] += r[i];
            }
        }
        double mean = m * (n + 1) / 2.0;
        double s = 0;
        for (double v : sums) {
            s += (v - mean) * (v - mean);
        }
        double t = 0;
        for (double[] r : rankings) {
            Map<Double, Integer> counts = new HashMap<>();
            for (double v : r) {
                counts.merge(v, 1, Integer::sum);
            }
            for (int c : counts.values()) {
                t += (double) c * c * c - c;
            }
        }
        double denom = m * m * ((double) n * n * n - n) - m * t;
        return denom <= 0 ? 1.0 : 12 * s / denom;
    }

    /** Spearman's rho between two rank vectors (Pearson on ranks, so ties are handled). */
    public static double spearman(double[] a, double[] b) {
        int n = a.length;
        double ma = 0;
        double mb = 0;
        for (int i = 0; i < n; i++) {
            ma += a[i];
            mb += b[i];
        }
        ma /= n;
        mb /= n;
        double num = 0;
        double da = 0;
        double db = 0;
        for (int i = 0; i < n; i++) {
            num += (a[i] - ma) * (b[i] - mb);
            da += (a[i] - ma) * (a[i] - ma);
            db += (b[i] - mb) * (b[i] - mb);
        }
        return da == 0 || db == 0 ? 0 : num / Math.sqrt(da * db);
    }

    private record Row(long itemId, long annotatorId, int k, double[] ranks, int[] gold) {
    }

    /** Computes the report from PostgreSQL (accepted rankings of every item). */
    public static Report compute(DataSource ds) throws SQLException {
        return compute(ds, null);
    }

    /**
     * The report over the rankings of {@code itemIds} only (null = every item): a run's snapshot gates and reports
     * on its own items, not on other runs' rankings in the same database.
     */
    public static Report compute(DataSource ds, java.util.Collection<Long> itemIds) throws SQLException {
        List<Row> rows = new ArrayList<>();
        Map<Long, String> names = new HashMap<>();
        Map<Long, int[]> counts = new TreeMap<>(); // annotator -> [rankings, skips, unsafe flags]
        long rejected;
        try (Connection c = ds.getConnection()) {
            try (PreparedStatement ps = c.prepareStatement("SELECT r.item_id, r.annotator_id, i.k, r.ranking, r.ties, r.skip,"
                    + " cardinality(r.unsafe), i.gold_order FROM ranking_events r JOIN annotation_items i ON i.id = r.item_id"
                    // an edited ranking counts once, as its latest version
                    + " WHERE NOT EXISTS (SELECT 1 FROM ranking_events x WHERE x.supersedes = r.event_id)"
                    + " AND (?::int8[] IS NULL OR r.item_id = ANY (?::int8[]))")) {
                java.sql.Array items = itemIds == null ? null : c.createArrayOf("int8", itemIds.toArray());
                ps.setArray(1, items);
                ps.setArray(2, items);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long ann = rs.getLong(2);
                        int[] cnt = counts.computeIfAbsent(ann, x -> new int[3]);
                        cnt[2] += rs.getInt(7);
                        if (rs.getBoolean(6)) {
                            cnt[1]++;
                            continue;
                        }
                        cnt[0]++;
                        int k = rs.getInt(3);
                        int[] order = toInts(rs.getArray(4));
                        int[] ties = toInts(rs.getArray(5));
                        java.sql.Array g = rs.getArray(8);
                        rows.add(new Row(rs.getLong(1), ann, k, ranks(order, ties, k), g == null ? null : toInts(g)));
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT id, name FROM annotators"); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    names.put(rs.getLong(1), rs.getString(2));
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM rejected_events"); ResultSet rs = ps.executeQuery()) {
                rs.next();
                rejected = rs.getLong(1);
            }
        }
        return report(rows, names, counts, rejected);
    }

    private static int[] toInts(java.sql.Array a) throws SQLException {
        Integer[] v = (Integer[]) a.getArray();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    private static Report report(List<Row> rows, Map<Long, String> names, Map<Long, int[]> counts, long rejected) {
        Map<Long, List<Row>> byItem = new TreeMap<>();
        for (Row r : rows) {
            byItem.computeIfAbsent(r.itemId(), x -> new ArrayList<>()).add(r);
        }
        List<ItemAgreement> items = new ArrayList<>();
        double wSum = 0;
        int wN = 0;
        Map<Long, double[]> others = new HashMap<>(); // annotator -> [sum rho, n]
        Map<Long, double[]> gold = new HashMap<>();
        for (var e : byItem.entrySet()) {
            List<Row> rs = e.getValue();
            int k = rs.get(0).k();
            int[] goldOrder = rs.get(0).gold();
            Double w = null;
            if (rs.size() >= 2) {
                List<double[]> vecs = new ArrayList<>();
                rs.forEach(r -> vecs.add(r.ranks()));
                w = kendallW(vecs);
                wSum += w;
                wN++;
                for (Row r : rs) {
                    double[] mean = new double[k];
                    for (Row o : rs) {
                        if (o != r) {
                            for (int i = 0; i < k; i++) {
                                mean[i] += o.ranks()[i] / (rs.size() - 1);
                            }
                        }
                    }
                    double[] acc = others.computeIfAbsent(r.annotatorId(), x -> new double[2]);
                    acc[0] += spearman(r.ranks(), mean);
                    acc[1]++;
                }
            }
            if (goldOrder != null) {
                double[] goldRanks = ranks(goldOrder, new int[0], k);
                for (Row r : rs) {
                    double[] acc = gold.computeIfAbsent(r.annotatorId(), x -> new double[2]);
                    acc[0] += spearman(r.ranks(), goldRanks);
                    acc[1]++;
                }
            }
            items.add(new ItemAgreement(e.getKey(), k, rs.size(), w, goldOrder != null));
        }
        List<AnnotatorAgreement> anns = new ArrayList<>();
        long total = 0;
        long skips = 0;
        for (var e : counts.entrySet()) {
            double[] o = others.get(e.getKey());
            double[] g = gold.get(e.getKey());
            int[] c = e.getValue();
            total += c[0];
            skips += c[1];
            anns.add(new AnnotatorAgreement(e.getKey(), names.getOrDefault(e.getKey(), "?"), c[0], c[1], c[2],
                    o == null ? null : o[0] / o[1], o == null ? 0 : (int) o[1],
                    g == null ? null : g[0] / g[1], g == null ? 0 : (int) g[1]));
        }
        return new Report(total, skips, rejected, wN, wN == 0 ? null : wSum / wN, items, anns);
    }
}
