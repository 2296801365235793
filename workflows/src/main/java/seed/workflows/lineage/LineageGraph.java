package seed.workflows.lineage;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import seed.stages.checkpoint.Hashes;

/**
 * The upstream tree of a checkpoint (or of every task run of an execution), built only from the signed record
 * bodies: each task run is a node, and an edge joins the run that wrote an artifact to the run that read it,
 * matched by SHA-256 (so the chain holds however files were moved). A snapshot's annotations add the edge from the
 * checkpoint that generated the ranked candidates, closing corpus -> ... -> rankings -> snapshot -> reward model.
 *
 * @param target what was asked for (a path or an execution id)
 * @param roots  ids of the nodes the target resolved to
 * @param nodes  the target's nodes and all their ancestors, roots first (breadth-first upward)
 * @param edges  producer -> consumer
 */
public record LineageGraph(String target, List<String> roots, List<Node> nodes, List<Edge> edges) {

    /**
     * One attempt of a task run: its latest record (the end record when it ended) and its first record's seq.
     *
     * @param annotations the snapshot's annotations as recorded (null unless the run named a snapshot)
     * @param runtime     code version and runtime as recorded
     */
    public record Node(String id, TaskRunRecord run, LineageRecord.Event event, long startSeq, long lastSeq,
            JsonNode annotations, JsonNode runtime) {
    }

    /** Why two nodes are joined: the consumer's input artifact, or the checkpoint that generated ranked candidates. */
    public record Edge(String from, String to, ArtifactRef artifact, String relation) {
    }

    /** A target that names neither a recorded artifact nor a recorded execution. */
    public static final class NotFound extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public NotFound(String message) {
            super(message);
        }
    }

    public Node node(String id) {
        return nodes.stream().filter(n -> n.id().equals(id)).findFirst().orElseThrow();
    }

    /** Builds the graph of {@code target}: an existing file or folder, or a Kestra execution id. */
    public static LineageGraph build(List<LineageRecord> records, String target) {
        Map<String, Node> all = nodes(records);
        List<Node> roots = resolve(all, target);
        Map<String, List<Node>> producers = new HashMap<>();
        for (Node n : all.values()) {
            if (n.event() == LineageRecord.Event.COMPLETE) {
                for (ArtifactRef a : n.run().outputs()) {
                    producers.computeIfAbsent(a.sha256(), x -> new ArrayList<>()).add(n);
                }
            }
        }
        Map<String, Node> reached = new LinkedHashMap<>();
        List<Edge> edges = new ArrayList<>();
        Set<String> edgeKeys = new LinkedHashSet<>();
        Deque<Node> queue = new ArrayDeque<>(roots);
        roots.forEach(r -> reached.put(r.id(), r));
        while (!queue.isEmpty()) {
            Node consumer = queue.removeFirst();
            List<ArtifactRef> wanted = new ArrayList<>(consumer.run().inputs());
            List<String> relation = new ArrayList<>();
            wanted.forEach(a -> relation.add("input"));
            if (consumer.annotations() != null) {
                for (SnapshotAnnotations.CandidateCheckpoint c : SnapshotAnnotations.candidateCheckpoints(consumer.annotations())) {
                    if (c.sha256().matches("[0-9a-f]{64}")) {
                        wanted.add(new ArtifactRef("candidates_checkpoint", c.path(), c.sha256(), 0, "checkpoint"));
                        relation.add("generated the ranked candidates");
                    }
                }
            }
            for (int i = 0; i < wanted.size(); i++) {
                ArtifactRef in = wanted.get(i);
                Node producer = producerOf(producers.getOrDefault(in.sha256(), List.of()), consumer);
                if (producer == null) {
                    continue; // a source: data nobody in the ledger produced (e.g. a corpus file given by a person)
                }
                if (edgeKeys.add(producer.id() + ">" + consumer.id() + ">" + in.name() + ">" + in.sha256())) {
                    edges.add(new Edge(producer.id(), consumer.id(), in, relation.get(i)));
                }
                if (reached.putIfAbsent(producer.id(), producer) == null) {
                    queue.addLast(producer);
                }
            }
        }
        return new LineageGraph(target, roots.stream().map(Node::id).toList(), List.copyOf(reached.values()), edges);
    }

    /** The latest completed producer recorded before the consumer started (or, failing that, the latest one). */
    private static Node producerOf(List<Node> candidates, Node consumer) {
        Comparator<Node> latest = Comparator.comparingLong(Node::lastSeq);
        List<Node> others = candidates.stream().filter(p -> !p.id().equals(consumer.id())).toList();
        return others.stream().filter(p -> p.lastSeq() < consumer.startSeq()).max(latest)
                .orElse(others.stream().max(latest).orElse(null));
    }

    /** One node per task run attempt, from the latest record of each. */
    static Map<String, Node> nodes(List<LineageRecord> records) {
        Map<String, Node> out = new LinkedHashMap<>();
        for (LineageRecord r : records) {
            JsonNode body = r.bodyJson();
            TaskRunRecord run = RecordCodec.fromJson(body.path("run"));
            String id = run.taskRunId() + "#" + run.attempt();
            Node earlier = out.get(id);
            JsonNode ann = body.has("annotations") ? body.get("annotations") : null;
            out.put(id, new Node(id, run, r.event(), earlier == null ? r.seq() : earlier.startSeq(), r.seq(), ann,
                    body.path("runtime")));
        }
        return out;
    }

    private static List<Node> resolve(Map<String, Node> all, String target) {
        Path path = Path.of(target);
        if (Files.exists(path)) {
            Path abs = path.toAbsolutePath().normalize();
            String sha;
            try {
                sha = Hashes.sha256(abs);
            } catch (IOException e) {
                throw new IllegalStateException("hashing " + abs + ": " + e.getMessage(), e);
            }
            List<Node> byHash = producersOf(all, a -> a.sha256().equals(sha));
            if (!byHash.isEmpty()) {
                return List.of(byHash.get(byHash.size() - 1));
            }
            List<Node> byPath = producersOf(all, a -> a.path().equals(abs.toString()));
            if (!byPath.isEmpty()) {
                return List.of(byPath.get(byPath.size() - 1)); // recorded here, but its content changed: verify says so
            }
            throw new NotFound(abs + " is not a Seed artifact: no recorded task run wrote a file or folder with its"
                    + " SHA-256 (" + sha + ") or at its path");
        }
        List<Node> runs = all.values().stream()
                .filter(n -> n.run().executionId().equals(target) || target.equals(n.run().parentExecutionId()))
                .sorted(Comparator.comparingLong(Node::startSeq)).toList();
        if (runs.isEmpty()) {
            throw new NotFound("'" + target + "' is neither an existing file or folder nor a recorded Kestra execution id");
        }
        return runs;
    }

    private static List<Node> producersOf(Map<String, Node> all, java.util.function.Predicate<ArtifactRef> match) {
        return all.values().stream().filter(n -> n.event() == LineageRecord.Event.COMPLETE)
                .filter(n -> n.run().outputs().stream().anyMatch(match))
                .sorted(Comparator.comparingLong(Node::lastSeq)).toList();
    }
}
