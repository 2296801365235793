package seed.workflows.lineage;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@link LineageGraph} as inline SVG for the auditor page, laid out in Java (no JavaScript library, no CDN, no
 * Graphviz binary to install) with the layered (Sugiyama) method Graphviz's {@code dot} uses: task runs and the data
 * between them (corpus, SFT data, prompts, checkpoints, candidates, items, snapshot, ...) are boxes; every box sits
 * one layer below everything it reads (sources just above their first reader); an arrow spanning several layers gets
 * a bend point in each layer it crosses, which takes a slot in that layer like a box, so arrows never run through
 * boxes; a few barycenter sweeps order each layer to untangle crossings. Each run box shows its stage, task, state
 * and its primary output (the checkpoint, model, snapshot ... not a chart) with its hash; each data box its name,
 * kind and hash. Run boxes carry {@code class="node"} and {@code data-node} so the page shows their details on click;
 * no inline style (the page's Content-Security-Policy forbids it).
 */
public final class GraphSvg {

    static final int RUN_W = 220;
    static final int RUN_H = 70;
    static final int DATA_W = 180;
    static final int DATA_H = 40;
    static final int DUMMY_W = 14;
    static final int GAP_X = 28;
    static final int GAP_Y = 56;
    static final int MARGIN = 16;

    /** Output kinds in the order that makes one a run's primary artifact. */
    static final List<String> PRIMARY = List.of("policy", "reward_model", "checkpoint", "snapshot", "annotation_items",
            "candidates", "dataset", "corpus", "prompts", "file", "metrics", "report");

    private GraphSvg() {
    }

    /**
     * A box of the layout (x, y of its top-left corner).
     *
     * @param kind "run", "data" or "bend" (a bend point of an arrow that spans layers; not drawn)
     */
    public record Box(String id, String kind, int x, int y, int w, int h) {
    }

    /** An arrow as the points it passes (from the bottom of one box to the top of another). */
    public record Route(String from, String to, boolean derived, List<int[]> points) {
    }

    /** The placed boxes and routed arrows, and the drawing's size. */
    public record Layout(List<Box> boxes, List<Route> routes, int width, int height) {
    }

    /** One box while laying out. */
    private static final class V {
        final String id;
        final String kind;
        final LineageGraph.Node run;
        final ArtifactRef data;
        final List<V> in = new ArrayList<>();
        final List<V> out = new ArrayList<>();
        int layer = -1;
        double order;
        int x;
        int y;

        V(String id, String kind, LineageGraph.Node run, ArtifactRef data) {
            this.id = id;
            this.kind = kind;
            this.run = run;
            this.data = data;
        }

        int w() {
            return kind.equals("run") ? RUN_W : kind.equals("data") ? DATA_W : DUMMY_W;
        }

        int h() {
            return kind.equals("run") ? RUN_H : kind.equals("data") ? DATA_H : 0;
        }
    }

    /** An arrow between two boxes of the graph (before bend points are inserted). */
    private record Arc(V from, V to, boolean derived) {
    }

    /** The primary artifact of a run: its output of the most telling kind (see {@link #PRIMARY}). */
    static ArtifactRef primary(TaskRunRecord run) {
        return run.outputs().stream().min(Comparator.comparingInt(a -> {
            int i = PRIMARY.indexOf(a.kind());
            return i < 0 ? PRIMARY.size() : i;
        })).orElse(null);
    }

    /** Lays the graph out (public for the test that checks no arrow crosses a box). */
    public static Layout layout(LineageGraph g) {
        Map<String, V> vs = new LinkedHashMap<>();
        List<Arc> arcs = new ArrayList<>();
        for (LineageGraph.Node n : g.nodes()) {
            vs.put("run:" + n.id(), new V("run:" + n.id(), "run", n, null));
        }
        Set<String> arcKeys = new java.util.HashSet<>();
        java.util.function.BiConsumer<Arc, String> add = (a, key) -> {
            if (arcKeys.add(key)) {
                arcs.add(a);
                a.from().out.add(a.to());
                a.to().in.add(a.from());
            }
        };
        // producer -> data -> consumer, one data box per content (sha256)
        Set<String> carried = new java.util.HashSet<>();
        for (LineageGraph.Edge e : g.edges()) {
            V data = vs.computeIfAbsent("data:" + e.artifact().sha256(), k -> new V(k, "data", null, e.artifact()));
            V from = vs.get("run:" + e.from());
            V to = vs.get("run:" + e.to());
            boolean derived = !e.relation().equals("input");
            if (!derived) {
                add.accept(new Arc(from, data, false), from.id + ">" + data.id);
            }
            add.accept(new Arc(data, to, derived), data.id + ">" + to.id);
            carried.add(e.to() + "\0" + e.artifact().sha256());
        }
        // sources: inputs nobody in the graph produced (corpus, SFT data, prompts ...)
        for (LineageGraph.Node n : g.nodes()) {
            for (ArtifactRef a : n.run().inputs()) {
                if (!carried.contains(n.id() + "\0" + a.sha256())) {
                    V data = vs.computeIfAbsent("data:" + a.sha256(), k -> new V(k, "data", null, a));
                    V to = vs.get("run:" + n.id());
                    add.accept(new Arc(data, to, false), data.id + ">" + to.id);
                }
            }
        }
        // the target's primary outputs, so the checkpoint asked about is a box too
        for (String root : g.roots()) {
            V r = vs.get("run:" + root);
            ArtifactRef p = primary(r.run.run());
            if (p != null && !vs.containsKey("data:" + p.sha256())) {
                V data = new V("data:" + p.sha256(), "data", null, p);
                vs.put(data.id, data);
                add.accept(new Arc(r, data, false), r.id + ">" + data.id);
            }
        }
        layers(vs.values());
        Map<Integer, List<V>> rows = new java.util.TreeMap<>();
        for (V v : vs.values()) {
            rows.computeIfAbsent(v.layer, k -> new ArrayList<>()).add(v);
        }
        // an arrow spanning layers passes a bend point in each layer between (a slot of its own)
        List<List<V>> chains = new ArrayList<>();
        int bends = 0;
        for (Arc a : arcs) {
            List<V> chain = new ArrayList<>(List.of(a.from()));
            for (int l = a.from().layer + 1; l < a.to().layer; l++) {
                V d = new V("bend:" + bends++, "bend", null, null);
                d.layer = l;
                V prev = chain.get(chain.size() - 1);
                prev.out.add(d);
                d.in.add(prev);
                rows.computeIfAbsent(l, k -> new ArrayList<>()).add(d);
                chain.add(d);
            }
            V last = chain.get(chain.size() - 1);
            if (last != a.from()) {
                last.out.add(a.to());
                a.to().in.add(last);
            }
            chain.add(a.to());
            chains.add(chain);
        }
        order(rows);
        int width = place(rows);
        int height = MARGIN * 2 + rows.size() * (RUN_H + GAP_Y) - GAP_Y;
        List<Box> boxes = new ArrayList<>();
        for (List<V> row : rows.values()) {
            for (V v : row) {
                int top = v.y + (RUN_H - v.h()) / 2;
                boxes.add(new Box(v.id, v.kind, v.x, v.kind.equals("bend") ? v.y : top, v.w(), v.kind.equals("bend")
                        ? RUN_H : v.h()));
            }
        }
        List<Route> routes = new ArrayList<>();
        for (int i = 0; i < arcs.size(); i++) {
            List<V> chain = chains.get(i);
            List<int[]> pts = new ArrayList<>();
            V first = chain.get(0);
            int fx = first.x + first.w() / 2;
            pts.add(new int[] {fx, first.y + (RUN_H + first.h()) / 2}); // the box's bottom
            pts.add(new int[] {fx, first.y + RUN_H}); // straight down to the bottom of its row
            for (V d : chain.subList(1, chain.size() - 1)) {
                int cx = d.x + DUMMY_W / 2;
                pts.add(new int[] {cx, d.y});
                pts.add(new int[] {cx, d.y + RUN_H}); // straight through the row, in its own slot
            }
            V last = chain.get(chain.size() - 1);
            int lx = last.x + last.w() / 2;
            pts.add(new int[] {lx, last.y});
            pts.add(new int[] {lx, last.y + (RUN_H - last.h()) / 2}); // the box's top
            routes.add(new Route(first.id, last.id, arcs.get(i).derived(), pts));
        }
        return new Layout(boxes, routes, width, height);
    }

    /** Longest-path layers from the sources; then each source moves down to just above its first reader. */
    private static void layers(java.util.Collection<V> vs) {
        boolean changed = true;
        for (V v : vs) {
            v.layer = 0;
        }
        for (int round = 0; changed && round <= vs.size(); round++) {
            changed = false;
            for (V v : vs) {
                for (V s : v.out) {
                    if (s.layer < v.layer + 1) {
                        s.layer = v.layer + 1;
                        changed = true;
                    }
                }
            }
        }
        for (V v : vs) {
            if (v.in.isEmpty() && !v.out.isEmpty()) {
                v.layer = v.out.stream().mapToInt(s -> s.layer).min().orElse(1) - 1;
            }
        }
    }

    /** Barycenter ordering: sweeps down (by the readers' predecessors) and up (by successors), four times each. */
    private static void order(Map<Integer, List<V>> rows) {
        for (List<V> row : rows.values()) {
            for (int i = 0; i < row.size(); i++) {
                row.get(i).order = i;
            }
        }
        List<Integer> keys = new ArrayList<>(rows.keySet());
        for (int sweep = 0; sweep < 8; sweep++) {
            boolean down = sweep % 2 == 0;
            for (int k = 1; k < keys.size(); k++) {
                List<V> row = rows.get(keys.get(down ? k : keys.size() - 1 - k));
                for (V v : row) {
                    List<V> nb = down ? v.in : v.out;
                    if (!nb.isEmpty()) {
                        v.order = nb.stream().mapToDouble(n -> n.order).average().orElse(v.order);
                    }
                }
                row.sort(Comparator.comparingDouble((V v) -> v.order));
                for (int i = 0; i < row.size(); i++) {
                    row.get(i).order = i;
                }
            }
        }
    }

    /** Coordinates: each row left to right in its order, centred on the widest row. Returns the drawing's width. */
    private static int place(Map<Integer, List<V>> rows) {
        Map<Integer, Integer> widths = new HashMap<>();
        int widest = 0;
        for (Map.Entry<Integer, List<V>> r : rows.entrySet()) {
            int w = r.getValue().stream().mapToInt(V::w).sum() + GAP_X * (r.getValue().size() - 1);
            widths.put(r.getKey(), w);
            widest = Math.max(widest, w);
        }
        int rowIndex = 0;
        for (Map.Entry<Integer, List<V>> r : rows.entrySet()) {
            int x = MARGIN + (widest - widths.get(r.getKey())) / 2;
            int y = MARGIN + rowIndex++ * (RUN_H + GAP_Y);
            for (V v : r.getValue()) {
                v.x = x;
                v.y = y;
                x += v.w() + GAP_X;
            }
        }
        return widest + 2 * MARGIN;
    }

    public static String render(LineageGraph g) {
        Layout layout = layout(g);
        Map<String, LineageGraph.Node> runs = new HashMap<>();
        g.nodes().forEach(n -> runs.put("run:" + n.id(), n));
        // a data box is named as its producer named it (the SFT's "checkpoint", not RLHF's "policy" input)
        Map<String, ArtifactRef> data = new HashMap<>();
        for (LineageGraph.Node n : g.nodes()) {
            n.run().outputs().forEach(a -> data.putIfAbsent("data:" + a.sha256(), a));
        }
        for (LineageGraph.Edge e : g.edges()) {
            data.putIfAbsent("data:" + e.artifact().sha256(), e.artifact());
        }
        for (LineageGraph.Node n : g.nodes()) {
            n.run().inputs().forEach(a -> data.putIfAbsent("data:" + a.sha256(), a));
        }
        StringBuilder sb = new StringBuilder();
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"lineage-graph\" width=\"").append(layout.width())
                .append("\" height=\"").append(layout.height()).append("\" viewBox=\"0 0 ").append(layout.width())
                .append(' ').append(layout.height()).append("\" preserveAspectRatio=\"xMidYMin meet\""
                        + " font-family=\"sans-serif\" font-size=\"12\">");
        sb.append("<defs><marker id=\"arrow\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\">"
                + "<path d=\"M0,0 L10,4 L0,8 z\" fill=\"#555\"/></marker></defs>");
        for (Route r : layout.routes()) {
            StringBuilder d = new StringBuilder();
            for (int i = 0; i < r.points().size(); i++) {
                int[] p = r.points().get(i);
                d.append(i == 0 ? "M" : " L").append(p[0]).append(',').append(p[1]);
            }
            sb.append("<g class=\"edge\" data-from=\"").append(esc(r.from())).append("\" data-to=\"")
                    .append(esc(r.to())).append("\"><path d=\"").append(d).append("\" fill=\"none\" stroke=\"#555\""
                            + " marker-end=\"url(#arrow)\"").append(r.derived() ? " stroke-dasharray=\"4 3\"" : "")
                    .append("/>");
            if (r.derived()) {
                sb.append("<title>generated the ranked candidates</title>");
            }
            sb.append("</g>");
        }
        for (Box b : layout.boxes()) {
            if (b.kind().equals("run")) {
                LineageGraph.Node n = runs.get(b.id());
                boolean root = g.roots().contains(n.id());
                String fill = switch (n.event()) {
                    case COMPLETE -> "#e8f4ea";
                    case START -> "#fff7d6";
                    case FAIL, ABORT -> "#fbe3e3";
                };
                sb.append("<g class=\"node\" data-node=\"").append(esc(n.id())).append("\" data-stage=\"")
                        .append(esc(n.run().stage())).append("\" tabindex=\"0\">");
                rect(sb, b, 6, fill, root ? "#1a5e20" : "#777", root ? 2.5 : 1);
                text(sb, b.x() + 8, b.y() + 17, n.run().stage(), "bold", 32);
                text(sb, b.x() + 8, b.y() + 33, n.run().taskId() + " · " + n.event(), null, 32);
                if (n.annotations() != null) {
                    text(sb, b.x() + 8, b.y() + 49, n.annotations().path("rankings").asInt() + " rankings · "
                            + n.annotations().path("annotators").size() + " annotators", null, 32);
                }
                ArtifactRef p = primary(n.run());
                if (p != null) {
                    text(sb, b.x() + 8, b.y() + (n.annotations() != null ? 64 : 52), p.name() + " "
                            + p.sha256().substring(0, 12) + "…", "mono", 32);
                }
            } else if (b.kind().equals("data")) {
                ArtifactRef a = data.get(b.id());
                sb.append("<g class=\"data\" data-sha256=\"").append(a.sha256()).append("\" data-kind=\"")
                        .append(esc(a.kind())).append("\"><title>").append(esc(a.path())).append("</title>");
                rect(sb, b, 16, "#eef2fb", "#8897b8", 1);
                text(sb, b.x() + 12, b.y() + 16, a.name() + " (" + a.kind() + ")", null, 26);
                text(sb, b.x() + 12, b.y() + 31, a.sha256().substring(0, 16) + "…", "mono", 26);
            } else {
                continue;
            }
            sb.append("</g>");
        }
        return sb.append("</svg>").toString();
    }

    private static void rect(StringBuilder sb, Box b, int rx, String fill, String stroke, double width) {
        sb.append("<rect x=\"").append(b.x()).append("\" y=\"").append(b.y()).append("\" width=\"").append(b.w())
                .append("\" height=\"").append(b.h()).append("\" rx=\"").append(rx).append("\" fill=\"").append(fill)
                .append("\" stroke=\"").append(stroke).append("\" stroke-width=\"").append(width).append("\"/>");
    }

    private static void text(StringBuilder sb, int x, int y, String s, String style, int max) {
        sb.append("<text x=\"").append(x).append("\" y=\"").append(y).append('"')
                .append("bold".equals(style) ? " font-weight=\"bold\"" : "mono".equals(style)
                        ? " font-family=\"monospace\" font-size=\"11\"" : "").append('>')
                .append(esc(s.length() > max ? s.substring(0, max - 1) + "…" : s)).append("</text>");
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
