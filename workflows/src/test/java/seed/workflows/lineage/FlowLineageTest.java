package seed.workflows.lineage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import io.openlineage.client.OpenLineage;
import io.openlineage.client.OpenLineageClientUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.infra.Infra;
import seed.workflows.demo.DemoInputs;
import seed.workflows.engine.SeedEngine;
import seed.workflows.engine.SeedHost;

/**
 * After a demo-sized run of the real {@code seed.three-stage} flow in the embedded Kestra engine (tiny sizes), whose
 * tasks record their own lineage: {@code seed lineage show} on the final policy reaches the corpus, the SFT data, the
 * snapshot and its annotators, {@code verify} passes, and every OpenLineage event parses with the client's model,
 * pairs START with COMPLETE by run id and names the Kestra execution as its parent.
 */
class FlowLineageTest {

    static final DemoInputs TINY = new DemoInputs(7, 96, 2, 64, 4, 60, 150, 40, 4, 48);

    @Test
    void aFlowRunIsTraceableFromItsPolicyAndVerifies(@TempDir Path dir) throws Exception {
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir, 0, false, 2), Map.of())) {
            Map<String, Object> inputs = new java.util.LinkedHashMap<>(TINY.write(dir.resolve("data"), dir.resolve("report")));
            // issue 10's settings as flow inputs, not their defaults: they must reach the stages (and their hashes)
            inputs.put("rl_algorithm", "grpo");
            inputs.put("rl_samples_per_prompt", 2);
            inputs.put("reward_eval_every", 10);
            inputs.put("reward_patience", 3);
            inputs.put("reward_readout", "end-logprob");
            inputs.put("truncate_response", "right");
            inputs.put("max_prompt_length", 40);
            SeedEngine engine = host.engine();
            Execution run = engine.launch("seed.three-stage", inputs, "alice");
            Execution done = engine.awaitTerminated(run.getId(), Duration.ofMinutes(8));
            assertEquals(State.Type.SUCCESS, done.getState().getCurrent(), () -> done.getState().toString());
            Path policy = Path.of((String) done.getOutputs().get("policy"));

            Infra infra = host.annotation().infra();
            LineageService lineage = LineageService.of(infra);
            LineageGraph g = lineage.graph(policy.toString());
            Set<String> stages = g.nodes().stream().map(n -> n.run().stage()).collect(Collectors.toSet());
            assertTrue(stages.containsAll(Set.of("pretrain", "sft", "snapshot", "reward", "rlhf")), stages.toString());
            Set<String> inputsSeen = new HashSet<>();
            g.nodes().forEach(n -> n.run().inputs().forEach(a -> inputsSeen.add(a.path())));
            for (String in : List.of("corpus", "sft_data")) {
                String p = Path.of((String) inputs.get(in)).toAbsolutePath().normalize().toString();
                assertTrue(inputsSeen.contains(p), in + " " + p + " is upstream of the policy: " + inputsSeen);
            }
            LineageGraph.Node snapshot = g.nodes().stream().filter(n -> n.run().stage().equals("snapshot")).findFirst()
                    .orElseThrow();
            JsonNode ann = snapshot.annotations();
            assertNotNull(ann, "the snapshot names its rankings and annotators");
            Set<String> annotators = new HashSet<>();
            try (Connection c = infra.dataSource().getConnection(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT DISTINCT r.annotator_id FROM snapshot_members m JOIN"
                         + " ranking_events r ON r.event_id = m.event_id WHERE m.snapshot_id = " + ann.path("snapshot_id").asLong())) {
                while (rs.next()) {
                    annotators.add(rs.getString(1));
                }
            }
            Set<String> recorded = new HashSet<>();
            ann.path("annotators").fieldNames().forEachRemaining(recorded::add);
            assertEquals(annotators, recorded);
            assertTrue(annotators.size() >= 2, "several synthetic annotators ranked: " + annotators);
            LineageGraph.Node rlhf = g.node(g.roots().get(0));
            assertEquals("rlhf", rlhf.run().stage());
            assertEquals(run.getId(), rlhf.run().parentExecutionId(), "the RLHF subflow's parent is the run");
            assertEquals("alice", rlhf.run().launchedBy(), "the operator's identity reaches every stage");
            assertEquals(1, rlhf.run().attempt());
            Map<String, Object> rl = rlhf.run().settings();
            assertEquals("GRPO", rl.get("algorithm"), rl.toString());
            assertEquals(2, ((Map<?, ?>) rl.get("rollout")).get("samplesPerPrompt"), rl.toString());
            assertEquals(Map.of("maxLength", 0, "maxPromptLength", 40, "prompt", "LEFT", "response", "ERROR"),
                    rl.get("truncation"), "generated responses are never cut");
            assertEquals("grpo", rlhf.run().metrics().get("algorithm"), "the stage ran GRPO");
            assertEquals("grpo", done.getOutputs().get("table") == null ? null
                    : ((String) done.getOutputs().get("table")).contains("algorithm=grpo") ? "grpo" : "missing");
            Map<String, Object> rm = g.nodes().stream().filter(n -> n.run().stage().equals("reward")).findFirst()
                    .orElseThrow().run().settings();
            assertEquals(3, rm.get("patience"), rm.toString());
            assertEquals(10, rm.get("evalEvery"), rm.toString());
            assertEquals("END_LOGPROB", rm.get("readout"), rm.toString());
            assertEquals("RIGHT", ((Map<?, ?>) rm.get("truncation")).get("response"), rm.toString());
            Map<String, Object> sftSettings = g.nodes().stream().filter(n -> n.run().stage().equals("sft")).findFirst()
                    .orElseThrow().run().settings();
            assertEquals(Map.of("maxLength", 0, "maxPromptLength", 40, "prompt", "LEFT", "response", "RIGHT"),
                    sftSettings.get("truncation"), sftSettings.toString());
            assertEquals("policy", rlhf.run().outputs().stream().filter(a -> a.name().equals("policy")).findFirst()
                    .orElseThrow().kind());
            assertTrue(g.nodes().stream().filter(n -> n.run().stage().equals("pretrain")).flatMap(n -> n.run().inputs().stream())
                    .anyMatch(a -> a.kind().equals("corpus")), "the corpus is recorded as such");
            assertTrue(g.edges().stream().anyMatch(e -> e.relation().equals("generated the ranked candidates")
                    && g.node(e.from()).run().stage().equals("sft")), g.edges().toString());

            VerifyReport report = lineage.verify(policy.toString());
            assertTrue(report.ok(), () -> report.problems().toString());
            LedgerTamper.Cli verified = LedgerTamper.cli(infra, "verify", run.getId());
            assertEquals(0, verified.exit(), verified.out() + verified.err());

            Map<UUID, List<OpenLineage.RunEvent.EventType>> byRun = new HashMap<>();
            Map<UUID, UUID> parents = new HashMap<>();
            for (String line : Files.readAllLines(infra.config().dataDir().resolve("openlineage.jsonl"))) {
                OpenLineage.RunEvent e = OpenLineageClientUtils.runEventFromJson(line);
                if (e.getRun().getFacets().getAdditionalProperties().get("seed_kestra").getAdditionalProperties()
                        .get("taskRunId") == null) {
                    continue; // a flow execution's own event: checked in openLineageDrawsTheWholeRun
                }
                byRun.computeIfAbsent(e.getRun().getRunId(), k -> new java.util.ArrayList<>()).add(e.getEventType());
                parents.put(e.getRun().getRunId(), e.getRun().getFacets().getParent().getRun().getRunId());
            }
            Set<UUID> executions = new HashSet<>();
            executions.add(Lineage.openLineageRunId(run.getId())); // tasks of the main flow itself (evaluate)
            engine.children(run.getId()).forEach(c -> executions.add(Lineage.openLineageRunId(c.getId())));
            for (Map.Entry<UUID, List<OpenLineage.RunEvent.EventType>> e : byRun.entrySet()) {
                assertEquals(List.of(OpenLineage.RunEvent.EventType.START, OpenLineage.RunEvent.EventType.COMPLETE),
                        e.getValue(), "run " + e.getKey());
                assertTrue(executions.contains(parents.get(e.getKey())), "parent of " + e.getKey() + " is the run or one of its subflow executions");
            }
            assertTrue(byRun.size() >= 6, byRun.toString());

            humanFeedbackPathIsDrawn(g);
            openLineageDrawsTheWholeRun(infra.config().dataDir().resolve("openlineage.jsonl"), run.getId(),
                    engine.children(run.getId()).stream().map(Execution::getId).toList());
            reuseLaunderingIsRefused(engine, inputs, infra, g);
            reusedStageNamesTheRecordThatProducedIt(lineage, infra);
        }
    }

    /**
     * Issue 18: the flow execution and every subflow execution are OpenLineage runs too (START and COMPLETE), every
     * task run's parent chain reaches the three-stage run through them (parent, then root), and every Seed facet
     * names and validates against its own schema shipped in the jar; inputs carry their sizes, jobs their code.
     */
    private static void openLineageDrawsTheWholeRun(Path jsonl, String runId, List<String> subflows) throws Exception {
        UUID root = Lineage.openLineageRunId(runId);
        Map<UUID, List<JsonNode>> events = new HashMap<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) { // the execution watcher polls every 2 s
            events.clear();
            for (String line : Files.readAllLines(jsonl)) {
                JsonNode e = CanonicalJson.read(line);
                events.computeIfAbsent(UUID.fromString(e.path("run").path("runId").asText()), k -> new java.util.ArrayList<>())
                        .add(e);
            }
            boolean allEnded = java.util.stream.Stream.concat(java.util.stream.Stream.of(runId), subflows.stream())
                    .allMatch(x -> events.getOrDefault(Lineage.openLineageRunId(x), List.of()).stream()
                            .anyMatch(e -> e.path("eventType").asText().equals("COMPLETE")));
            if (allEnded || System.nanoTime() > deadline) {
                break;
            }
            Thread.sleep(500);
        }
        for (String execution : java.util.stream.Stream.concat(java.util.stream.Stream.of(runId), subflows.stream()).toList()) {
            List<String> types = events.getOrDefault(Lineage.openLineageRunId(execution), List.of()).stream()
                    .map(e -> e.path("eventType").asText()).toList();
            assertEquals(List.of("START", "COMPLETE"), types, "execution " + execution + " is a run of its own");
        }
        JsonNode top = events.get(root).get(0);
        assertTrue(top.path("run").path("facets").path("parent").isMissingNode(), "the three-stage run has no parent");
        com.networknt.schema.JsonSchemaFactory factory = com.networknt.schema.JsonSchemaFactory.getInstance(
                com.networknt.schema.SpecVersion.VersionFlag.V202012);
        Map<String, com.networknt.schema.JsonSchema> schemas = new HashMap<>();
        int taskEvents = 0;
        int seedFacets = 0;
        for (List<JsonNode> list : events.values()) {
            for (JsonNode e : list) {
                JsonNode facets = e.path("run").path("facets");
                if (!facets.path("seed_kestra").path("rootExecutionId").asText().equals(runId)) {
                    continue; // another run of this test (the attack's second launch)
                }
                for (java.util.Iterator<Map.Entry<String, JsonNode>> it = facets.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> f = it.next();
                    if (!f.getKey().startsWith("seed_")) {
                        continue;
                    }
                    String url = f.getValue().path("_schemaURL").asText();
                    assertTrue(url.startsWith(OpenLineageEmitter.SCHEMA_BASE), url);
                    String file = url.substring(OpenLineageEmitter.SCHEMA_BASE.length(), url.indexOf('#'));
                    com.networknt.schema.JsonSchema schema = schemas.computeIfAbsent(file, n -> factory.getSchema(
                            FlowLineageTest.class.getResourceAsStream("/" + OpenLineageEmitter.FACET_SCHEMAS + n)));
                    Set<com.networknt.schema.ValidationMessage> errors = schema.validate(f.getValue());
                    assertTrue(errors.isEmpty(), f.getKey() + " of " + e.path("job").path("name") + ": " + errors);
                    seedFacets++;
                }
                if (!facets.path("seed_kestra").hasNonNull("taskRunId")) { // a flow execution's own event
                    continue;
                }
                taskEvents++;
                // the chain: task run -> its execution (an event of its own) -> ... -> the three-stage run
                JsonNode parent = facets.path("parent");
                assertEquals(root.toString(), parent.path("root").path("run").path("runId").asText());
                UUID up = UUID.fromString(parent.path("run").path("runId").asText());
                for (int hops = 0; !up.equals(root); hops++) {
                    assertTrue(hops < 4 && events.containsKey(up), "parent " + up + " of " + e.path("job").path("name")
                            + " has events of its own");
                    up = UUID.fromString(events.get(up).get(0).path("run").path("facets").path("parent").path("run")
                            .path("runId").asText());
                }
                for (JsonNode in : e.path("inputs")) {
                    assertTrue(in.path("inputFacets").path("inputStatistics").path("size").asLong() > 0, in.toString());
                }
                JsonNode code = e.path("job").path("facets").path("sourceCodeLocation");
                assertEquals(facets.path("seed_kestra").path("gitCommit").asText(), code.path("version").asText());
                if (!facets.path("seed_kestra").path("stage").asText().equals("snapshot")) { // the one without settings
                    assertTrue(facets.has("seed_settings"), "settings as a facet: " + e.path("job").path("name"));
                }
                if (e.path("eventType").asText().equals("COMPLETE")) {
                    assertTrue(facets.has("seed_metrics"), "metrics as a facet");
                    if (e.path("job").path("name").asText().endsWith(".snapshot")) {
                        assertTrue(facets.path("seed_annotations").path("annotators").size() >= 2, facets.toString());
                    }
                }
            }
        }
        assertTrue(taskEvents >= 12 && seedFacets > taskEvents, taskEvents + " task events, " + seedFacets + " facets");
    }

    /** Issue 18: the policy's tree reaches sft -> candidates -> items (the load) -> snapshot as artifact edges. */
    private static void humanFeedbackPathIsDrawn(LineageGraph g) {
        java.util.function.Function<String, LineageGraph.Node> stage = name -> g.nodes().stream()
                .filter(n -> n.run().stage().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " node in " + g.nodes().stream()
                        .map(n -> n.run().stage()).toList()));
        LineageGraph.Node sft = stage.apply("sft");
        LineageGraph.Node candidates = stage.apply("candidates");
        LineageGraph.Node load = stage.apply("load-items");
        LineageGraph.Node snapshot = stage.apply("snapshot");
        java.util.function.BiFunction<LineageGraph.Node, LineageGraph.Node, String> kindOf = (from, to) -> g.edges()
                .stream().filter(e -> e.from().equals(from.id()) && e.to().equals(to.id()) && e.relation().equals("input"))
                .map(e -> e.artifact().kind()).findFirst()
                .orElseThrow(() -> new AssertionError("no edge " + from.run().stage() + " -> " + to.run().stage()
                        + " in " + g.edges()));
        assertEquals("checkpoint", kindOf.apply(sft, candidates));
        assertEquals("candidates", kindOf.apply(candidates, load));
        assertEquals("annotation_items", kindOf.apply(load, snapshot));
        assertEquals("snapshot", kindOf.apply(snapshot, stage.apply("reward")));
    }

    /**
     * Issue 18's first attack, as the outsider ran it: one byte of the SFT checkpoint changed, its folder hash
     * recomputed into the SFT store folder's done.json, and the flow run again. The store used to reuse it and the
     * ledger gained a signed "reused" SFT record with the new hash; now the SFT task fails naming what changed, and
     * no completed SFT record claims the changed checkpoint.
     */
    private static void reuseLaunderingIsRefused(SeedEngine engine, Map<String, Object> inputs, Infra infra,
            LineageGraph g) throws Exception {
        ArtifactRef sftOut = g.nodes().stream().filter(n -> n.run().stage().equals("sft")).findFirst().orElseThrow()
                .run().outputs().stream().filter(a -> a.kind().equals("checkpoint")).findFirst().orElseThrow();
        Path out = Path.of(sftOut.path());
        Path model;
        try (var walk = Files.walk(out)) {
            model = walk.filter(p -> p.getFileName().toString().equals("model.safetensors")).findFirst().orElseThrow();
        }
        Path storeDir = out;
        while (!Files.exists(storeDir.resolve("done.json"))) {
            storeDir = storeDir.getParent();
        }
        byte[] bytes = Files.readAllBytes(model);
        bytes[bytes.length - 3] ^= 1;
        Files.write(model, bytes);
        String forged = seed.stages.checkpoint.Hashes.sha256(out);
        Path done = storeDir.resolve("done.json");
        Files.writeString(done, Files.readString(done).replace(sftOut.sha256(), forged));
        assertTrue(Files.readString(done).contains(forged), "the attacker rewrote done.json");

        Execution again = engine.awaitTerminated(engine.launch("seed.three-stage", inputs, "mallory").getId(),
                Duration.ofMinutes(4));
        assertEquals(State.Type.FAILED, again.getState().getCurrent(), "the changed SFT checkpoint was not reused");
        List<LineageRecord> records = new LineageStore(infra.dataSource()).all();
        assertTrue(records.stream().filter(r -> r.event() == LineageRecord.Event.COMPLETE)
                .flatMap(r -> r.run().outputs().stream()).noneMatch(a -> a.sha256().equals(forged)),
                "no completed record claims the changed checkpoint");
        TaskRunRecord failed = records.stream().filter(r -> r.event() == LineageRecord.Event.FAIL
                && r.stage().equals("sft")).map(LineageRecord::run).reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("the SFT run of the second launch is recorded as failed"));
        assertEquals("mallory", failed.launchedBy());
        String error = String.valueOf(failed.metrics().get("error"));
        assertTrue(error.contains("done.json claims sha256 " + forged) && error.contains("now hashes to " + forged)
                && error.contains("checkpoint=" + sftOut.sha256()), error);
    }

    /**
     * Issue 17: the second launch reused pretraining (same corpus, settings and code); its completed record names the
     * record that produced the checkpoint (seq and SHA-256), `lineage show` prints it and `lineage verify` checks it.
     */
    private static void reusedStageNamesTheRecordThatProducedIt(LineageService lineage, Infra infra) {
        List<LineageRecord> records = new LineageStore(infra.dataSource()).all();
        List<LineageRecord> pretrain = records.stream().filter(r -> r.event() == LineageRecord.Event.COMPLETE
                && r.stage().equals("pretrain")).toList();
        assertEquals(2, pretrain.size(), "pretraining completed once and was reused once: " + pretrain);
        LineageRecord producer = pretrain.get(0);
        LineageRecord reuse = pretrain.get(1);
        assertEquals("mallory", reuse.run().launchedBy());
        assertEquals(Boolean.TRUE, reuse.run().metrics().get("reused"));
        assertEquals(null, producer.run().metrics().get("reused_from"), "the producer reused nothing");
        Map<?, ?> from = (Map<?, ?>) reuse.run().metrics().get("reused_from");
        assertEquals(producer.seq(), ((Number) from.get("record")).longValue(), from.toString());
        assertEquals(producer.sha256(), from.get("sha256"));

        String shown = GraphFormats.text(LineageGraph.build(records, reuse.executionId()));
        assertTrue(shown.contains("reused the artifacts of lineage record " + producer.seq() + " (sha256 "
                + producer.sha256() + ")"), shown);
        VerifyReport report = lineage.verify(reuse.executionId());
        assertTrue(report.ok(), () -> report.problems().toString());
        assertTrue(report.notes().stream().anyMatch(n -> n.contains("reused stage run(s) name the lineage record")),
                report.notes().toString());
    }
}
