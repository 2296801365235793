package seed.workflows.lineage;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A {@link LineageGraph} as inline SVG for the auditor page, laid out without any JavaScript library (the machine
 * has no CDN): one row per distance from the target (sources at the top, the target at the bottom), nodes side by
 * side in a row, one arrow per producer and consumer labelled with the artifacts it carries. Each node carries {@code data-node} so the page can
 * show its details on click.
 */
public final class GraphSvg {

    static final int COL = 230;
    static final int ROW = 100;
    static final int W = 190;
    static final int H = 64;

    private GraphSvg() {
    }

    public static String render(LineageGraph g) {
        Map<String, Integer> depth = GraphFormats.depths(g);
        int maxDepth = depth.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        Map<Integer, List<LineageGraph.Node>> layers = new TreeMap<>();
        for (LineageGraph.Node n : g.nodes()) {
            layers.computeIfAbsent(maxDepth - depth.getOrDefault(n.id(), 0), c -> new ArrayList<>()).add(n);
        }
        Map<String, int[]> pos = new HashMap<>();
        int widest = 1;
        for (Map.Entry<Integer, List<LineageGraph.Node>> layer : layers.entrySet()) {
            widest = Math.max(widest, layer.getValue().size());
            for (int i = 0; i < layer.getValue().size(); i++) {
                pos.put(layer.getValue().get(i).id(), new int[] {20 + i * COL, 20 + layer.getKey() * ROW});
            }
        }
        int width = 40 + widest * COL;
        int height = 40 + (maxDepth + 1) * ROW;
        // one arrow per producer -> consumer pair, labelled with every artifact it carries
        Map<String, List<LineageGraph.Edge>> pairs = new java.util.LinkedHashMap<>();
        for (LineageGraph.Edge e : g.edges()) {
            pairs.computeIfAbsent(e.from() + "\0" + e.to(), k -> new ArrayList<>()).add(e);
        }
        StringBuilder sb = new StringBuilder();
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"lineage-graph\" width=\"").append(width)
                .append("\" height=\"").append(height).append("\" viewBox=\"0 0 ").append(width).append(' ')
                .append(height).append("\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.append("<defs><marker id=\"arrow\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\">"
                + "<path d=\"M0,0 L10,4 L0,8 z\" fill=\"#555\"/></marker></defs>");
        for (List<LineageGraph.Edge> pair : pairs.values()) {
            LineageGraph.Edge e = pair.get(0);
            int[] a = pos.get(e.from());
            int[] b = pos.get(e.to());
            if (a == null || b == null) {
                continue;
            }
            int x1 = a[0] + W / 2;
            int y1 = a[1] + H;
            int x2 = b[0] + W / 2;
            int y2 = b[1];
            boolean derived = pair.stream().noneMatch(x -> x.relation().equals("input"));
            String label = String.join(", ", pair.stream().map(x -> x.artifact().name()).distinct().toList());
            // an arrow that skips rows bends right, around the nodes between its ends
            boolean skips = b[1] - a[1] > ROW;
            int cx = skips ? Math.max(x1, x2) + W / 2 + 12 * ((b[1] - a[1]) / ROW) : (x1 + x2) / 2; // longer spans bend wider
            int cy = (y1 + y2) / 2;
            sb.append("<g class=\"edge\"><path d=\"M").append(x1).append(',').append(y1).append(" Q").append(cx)
                    .append(',').append(cy).append(' ').append(x2).append(',').append(y2)
                    .append("\" fill=\"none\" stroke=\"#555\" marker-end=\"url(#arrow)\"")
                    .append(derived ? " stroke-dasharray=\"4 3\"" : "").append("/>")
                    .append("<text x=\"").append(skips ? (x1 + 2 * cx + x2) / 4 + 4 : cx + 6).append("\" y=\"").append(cy + 4)
                    .append("\" fill=\"#333\" font-size=\"10\">").append(esc(label)).append("</text></g>");
        }
        for (LineageGraph.Node n : g.nodes()) {
            int[] p = pos.get(n.id());
            boolean root = g.roots().contains(n.id());
            String fill = switch (n.event()) {
                case COMPLETE -> "#e8f4ea";
                case START -> "#fff7d6";
                case FAIL, ABORT -> "#fbe3e3";
            };
            sb.append("<g class=\"node\" data-node=\"").append(esc(n.id())).append("\" data-stage=\"")
                    .append(esc(n.run().stage())).append("\" tabindex=\"0\" style=\"cursor:pointer\">");
            sb.append("<rect x=\"").append(p[0]).append("\" y=\"").append(p[1]).append("\" width=\"").append(W)
                    .append("\" height=\"").append(H).append("\" rx=\"6\" fill=\"").append(fill).append("\" stroke=\"")
                    .append(root ? "#1a5e20" : "#777").append("\" stroke-width=\"").append(root ? 2.5 : 1).append("\"/>");
            text(sb, p[0] + 8, p[1] + 18, n.run().stage(), "bold");
            text(sb, p[0] + 8, p[1] + 34, n.run().taskId() + " · " + n.event(), null);
            String third = n.annotations() != null
                    ? n.annotations().path("rankings").asInt() + " rankings, " + n.annotations().path("annotators").size() + " annotators"
                    : n.run().outputs().isEmpty() ? "" : n.run().outputs().get(0).sha256().substring(0, 16) + "…";
            text(sb, p[0] + 8, p[1] + 52, third, null);
            sb.append("</g>");
        }
        return sb.append("</svg>").toString();
    }

    private static void text(StringBuilder sb, int x, int y, String s, String weight) {
        sb.append("<text x=\"").append(x).append("\" y=\"").append(y).append('"')
                .append(weight == null ? "" : " font-weight=\"" + weight + "\"").append('>')
                .append(esc(s.length() > 30 ? s.substring(0, 29) + "…" : s)).append("</text>");
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
