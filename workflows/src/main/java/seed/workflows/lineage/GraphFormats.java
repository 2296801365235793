package seed.workflows.lineage;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A {@link LineageGraph} as text for people, as JSON for tools and the auditor page, and as Graphviz DOT. */
public final class GraphFormats {

    private GraphFormats() {
    }

    /** The JSON tree ({@code seed lineage show --json} and the auditor page's API). */
    public static Map<String, Object> json(LineageGraph g) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("target", g.target());
        out.put("roots", g.roots());
        List<Object> nodes = new ArrayList<>();
        for (LineageGraph.Node n : g.nodes()) {
            Map<String, Object> m = new LinkedHashMap<>(RecordCodec.toMap(n.run()));
            m.put("id", n.id());
            m.put("event", n.event().name());
            m.put("first_record", n.startSeq());
            m.put("last_record", n.lastSeq());
            m.put("runtime", n.runtime());
            if (n.annotations() != null) {
                m.put("annotations", n.annotations());
            }
            nodes.add(m);
        }
        out.put("nodes", nodes);
        List<Object> edges = new ArrayList<>();
        for (LineageGraph.Edge e : g.edges()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("from", e.from());
            m.put("to", e.to());
            m.put("relation", e.relation());
            m.put("artifact", Map.of("name", e.artifact().name(), "path", e.artifact().path(), "sha256",
                    e.artifact().sha256(), "kind", e.artifact().kind()));
            edges.add(m);
        }
        out.put("edges", edges);
        return out;
    }

    /** The upstream tree as indented text, target first; each input names the task run that produced it. */
    public static String text(LineageGraph g) {
        Map<String, Integer> depth = depths(g);
        Map<String, String> producerOf = new HashMap<>();
        for (LineageGraph.Edge e : g.edges()) {
            producerOf.put(e.to() + "\0" + e.artifact().sha256(), e.from());
        }
        StringBuilder sb = new StringBuilder("lineage of " + g.target() + "\n");
        // upstream order: the target first, then each step further from it (ties in the order they were reached)
        List<LineageGraph.Node> ordered = new ArrayList<>(g.nodes());
        ordered.sort(java.util.Comparator.comparingInt(n -> depth.getOrDefault(n.id(), 0)));
        for (LineageGraph.Node n : ordered) {
            String pad = "  ".repeat(depth.getOrDefault(n.id(), 0));
            TaskRunRecord r = n.run();
            sb.append(pad).append("[").append(r.stage()).append("] task ").append(r.taskId()).append(" (task run ")
                    .append(n.id()).append(")  ").append(n.event()).append('\n');
            sb.append(pad).append("    execution ").append(r.executionId())
                    .append(r.parentExecutionId() == null ? "" : " (parent " + r.parentExecutionId() + ")")
                    .append(", flow ").append(r.flowNamespace()).append('/').append(r.flowId()).append(" rev ")
                    .append(r.flowRevision()).append(", attempt ").append(r.attempt()).append(", device ")
                    .append(r.device()).append('\n');
            sb.append(pad).append("    launched by ").append(r.launchedBy()).append(", ").append(r.startedAt())
                    .append(" -> ").append(r.endedAt() == null ? "(running)" : r.endedAt()).append(", records ")
                    .append(n.startSeq()).append("..").append(n.lastSeq()).append('\n');
            JsonNode rt = n.runtime();
            sb.append(pad).append("    code seed ").append(rt.path("seed_version").asText()).append(" @ ")
                    .append(rt.path("git_commit").asText()).append(rt.path("git_dirty").asBoolean() ? " (dirty)" : "")
                    .append(", JVM ").append(rt.path("jvm").asText()).append(", DJL ").append(rt.path("djl").asText())
                    .append(", libtorch ").append(rt.path("libtorch").asText()).append('\n');
            sb.append(pad).append("    settings ").append(CanonicalJson.write(r.settings())).append('\n');
            if (!r.metrics().isEmpty()) {
                sb.append(pad).append("    metrics ").append(CanonicalJson.write(r.metrics())).append('\n');
            }
            if (r.metrics().get("reused_from") instanceof Map<?, ?> from) { // issue 17: a reused stage's producer
                sb.append(pad).append("    reused the artifacts of lineage record ").append(from.get("record"))
                        .append(" (sha256 ").append(from.get("sha256")).append(")\n");
            }
            for (ArtifactRef a : r.outputs()) {
                sb.append(pad).append("    out ").append(artifact(a)).append('\n');
            }
            for (ArtifactRef a : r.inputs()) {
                String from = producerOf.get(n.id() + "\0" + a.sha256());
                sb.append(pad).append("    in  ").append(artifact(a))
                        .append(from == null ? "  (source: not produced by a recorded task run)" : "  <- " + from)
                        .append('\n');
            }
            if (n.annotations() != null) {
                sb.append(pad).append("    ").append(annotations(n.annotations())).append('\n');
                for (SnapshotAnnotations.CandidateCheckpoint c : SnapshotAnnotations.candidateCheckpoints(n.annotations())) {
                    String from = producerOf.get(n.id() + "\0" + c.sha256());
                    sb.append(pad).append("    candidates generated by ").append(c.path()).append(" sha256 ")
                            .append(c.sha256()).append(from == null ? "" : "  <- " + from).append('\n');
                }
            }
        }
        return sb.toString();
    }

    /** "annotations: snapshot 3, 96 rankings by 3 annotators (annotator 1: 32, ...), mean Kendall's W 0.95 ...". */
    public static String annotations(JsonNode a) {
        StringBuilder sb = new StringBuilder("annotations: snapshot ").append(a.path("snapshot_id").asLong()).append(", ")
                .append(a.path("rankings").asInt()).append(" rankings by ").append(a.path("annotators").size())
                .append(" annotators (");
        List<String> parts = new ArrayList<>();
        a.path("annotators").fields().forEachRemaining(e -> parts.add("annotator " + e.getKey() + ": " + e.getValue().asInt()));
        sb.append(String.join(", ", parts)).append("), mean Kendall's W ");
        sb.append(a.path("mean_kendall_w").isNull() ? "-" : String.format("%.3f", a.path("mean_kendall_w").asDouble()));
        sb.append(" over ").append(a.path("items_with_agreement").asInt()).append(" items ranked by 2+");
        return sb.toString();
    }

    private static String artifact(ArtifactRef a) {
        return a.name() + " (" + a.kind() + ") " + a.path() + "  sha256 " + a.sha256() + "  " + a.sizeBytes() + " bytes";
    }

    /** Graphviz DOT: task runs as boxes, artifacts on the edges. */
    public static String dot(LineageGraph g) {
        StringBuilder sb = new StringBuilder("digraph lineage {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
        for (LineageGraph.Node n : g.nodes()) {
            String label = n.run().stage() + "\\n" + n.run().taskId() + "\\n" + n.event();
            if (n.annotations() != null) {
                label += "\\n" + n.annotations().path("rankings").asInt() + " rankings, "
                        + n.annotations().path("annotators").size() + " annotators";
            }
            sb.append("  ").append(quote(n.id())).append(" [label=\"").append(label.replace("\"", "'")).append("\"")
                    .append(g.roots().contains(n.id()) ? ", penwidth=2" : "").append("];\n");
        }
        for (LineageGraph.Edge e : g.edges()) {
            sb.append("  ").append(quote(e.from())).append(" -> ").append(quote(e.to())).append(" [label=\"")
                    .append(e.artifact().name().replace("\"", "'")).append(' ')
                    .append(e.artifact().sha256(), 0, 12).append("\"")
                    .append(e.relation().equals("input") ? "" : ", style=dashed").append("];\n");
        }
        return sb.append("}\n").toString();
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** Distance of each node from the nearest root along edges (roots 0); the layout of the text and the SVG. */
    static Map<String, Integer> depths(LineageGraph g) {
        Map<String, Integer> depth = new HashMap<>();
        g.roots().forEach(r -> depth.put(r, 0));
        boolean changed = true;
        for (int round = 0; changed && round < g.nodes().size() + 1; round++) {
            changed = false;
            for (LineageGraph.Edge e : g.edges()) {
                Integer d = depth.get(e.to());
                if (d != null && depth.getOrDefault(e.from(), -1) < d + 1) {
                    depth.put(e.from(), d + 1); // longest path: a node sits left of everything it feeds
                    changed = true;
                }
            }
        }
        return depth;
    }
}
