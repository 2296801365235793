package seed.workflows.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.executions.TaskRun;
import io.kestra.core.models.flows.State;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.snapshot.SnapshotScope;
import seed.stages.data.InstructionDataset;
import seed.stages.data.InstructionExample;
import seed.stages.data.SyntheticInstructions;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.train.TrainSettings;
import seed.stages.train.Trainer;
import seed.workflows.lineage.LineageRecord;
import seed.workflows.lineage.LineageStore;

/**
 * Issue 17, item 7, end to end: two {@code seed.annotate} runs on one server (one PostgreSQL, one Kafka topic), each
 * with its own prompts. Each run's snapshot holds the rankings of its own items only, and its lineage record names
 * them (scope, count, SHA-256 of the id list). Before, the second run's snapshot froze the first run's rankings too.
 */
class TwoRunsOneServerTest {

    @Test
    void eachRunsSnapshotHoldsItsOwnItems(@TempDir Path dir) throws Exception {
        GptConfig shape = new GptConfig(259, 96, 2, 48, 4);
        Path sft = dir.resolve("sft");
        List<InstructionExample> examples = SyntheticInstructions.generate(200, 4, 0.3, 11).stream()
                .map(e -> new InstructionExample(e.prompt(), e.response(), 0)).toList();
        ByteTokenizer tokenizer = new ByteTokenizer();
        try (Gpt gpt = Gpt.initialize(shape, 5)) {
            InstructionDataset data = new InstructionDataset(examples, tokenizer, shape.context(), 8, 0.05, 3, false);
            TrainSettings settings = new TrainSettings(4, 8, 3e-3f, 3e-4f, 1, 0.0f, 1.0f, 4, 4, 1, 1, 5000);
            new Trainer("sft", gpt, tokenizer, data, settings, sft, new PrintStream(OutputStream.nullOutputStream()))
                    .run(null, 0);
        }
        Path promptsA = Files.writeString(dir.resolve("a.jsonl"), "{\"prompt\": \"What is 1 plus 2?\"}\n"
                + "{\"prompt\": \"What is 2 plus 2?\"}\n");
        Path promptsB = Files.writeString(dir.resolve("b.jsonl"), "{\"prompt\": \"What is 3 plus 1?\"}\n"
                + "{\"prompt\": \"What is 4 plus 3?\"}\n{\"prompt\": \"What is 5 plus 0?\"}\n");
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir.resolve("work"), 0, false, 2), Map.of())) {
            SeedEngine engine = host.engine();
            Execution a = annotate(engine, sft, promptsA);
            Execution b = annotate(engine, sft, promptsB);
            Set<Long> itemsA = loaded(a);
            Set<Long> itemsB = loaded(b);
            assertEquals(2, itemsA.size());
            assertEquals(3, itemsB.size());
            assertTrue(Collections.disjoint(itemsA, itemsB));
            assertEquals(itemsA, itemsIn(a), "run A's snapshot holds run A's items only");
            assertEquals(itemsB, itemsIn(b), "run B's snapshot holds run B's items only, not run A's");
            // 2 annotators per item (the flow's default) ranked each of the run's items
            assertEquals(2 * itemsB.size(), ((Number) b.getOutputs().get("rankings")).intValue());

            // the snapshot's lineage record names the items it covers
            List<LineageRecord> snapshots = new LineageStore(host.annotation().infra().dataSource()).all().stream()
                    .filter(r -> r.event() == LineageRecord.Event.COMPLETE && r.stage().equals("snapshot")).toList();
            assertEquals(2, snapshots.size());
            for (LineageRecord r : snapshots) {
                Set<Long> items = r.executionId().equals(a.getId()) ? itemsA : itemsB;
                Map<String, Object> settings = r.run().settings();
                assertEquals("ITEMS", settings.get("scope"), settings.toString());
                assertEquals(items.size(), ((Number) settings.get("items")).intValue());
                assertEquals(SnapshotScope.idsSha256(items), settings.get("item_ids_sha256"));
            }
        }
    }

    private static Execution annotate(SeedEngine engine, Path sft, Path prompts) throws Exception {
        Execution run = engine.launch("seed.annotate", Map.of("model", sft.toString(), "prompts", prompts.toString(),
                "k", 3), "test");
        Execution done = engine.awaitTerminated(run.getId(), Duration.ofMinutes(5));
        assertEquals(State.Type.SUCCESS, done.getState().getCurrent(), () -> done.getState().toString());
        return done;
    }

    private static Set<Long> loaded(Execution e) {
        TaskRun load = e.getTaskRunList().stream().filter(t -> t.getTaskId().equals("load")).findFirst().orElseThrow();
        Set<Long> ids = new TreeSet<>();
        ((List<?>) load.getOutputs().get("itemIds")).forEach(x -> ids.add(((Number) x).longValue()));
        return ids;
    }

    private static Set<Long> itemsIn(Execution e) throws Exception {
        Set<Long> ids = new TreeSet<>();
        for (String line : Files.readAllLines(Path.of((String) e.getOutputs().get("snapshot")))) {
            ids.add(ThreeStageFlowTest.JSON.readTree(line).get("item_id").asLong());
        }
        return ids;
    }
}
