package seed.workflows.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.curate.CurateSettings;

/**
 * The {@code seed.curate} flow runs its {@code Curate} task in the embedded engine: SUCCESS, the corpus and the
 * per-rule table as outputs, duplicates and contaminated documents gone, a second identical run reused from the
 * store, and a changed rule setting addressing a different store folder (the settings, a typed map checked before the
 * run exists, are part of the address).
 */
class CurateFlowTest {

    private static final String[] WORDS = ("the of and to in a is that for it with river mountain city garden winter "
            + "history science music market language family morning window bridge letter station harbour forest "
            + "machine village season journey question answer reason walked wrote built opened carried followed")
            .split(" ");

    @Test
    void theCurateFlowCleansDocumentsAndReusesItsStore(@TempDir Path dir) throws Exception {
        SplittableRandom random = new SplittableRandom(4);
        Path raw = Files.createDirectories(dir.resolve("raw"));
        String first = prose(random);
        Files.writeString(raw.resolve("a.txt"), first);
        Files.writeString(raw.resolve("b.txt"), first.toUpperCase()); // an exact duplicate up to case
        Files.writeString(raw.resolve("c.txt"), prose(random));
        String leaked = "the reason the village bridge was built in winter is a question of history and of "
                + "language that every station knew";
        Files.writeString(raw.resolve("d.txt"), prose(random) + "\n" + leaked + ".");
        Path eval = Files.writeString(dir.resolve("eval.jsonl"), "{\"question\": \"" + leaked + "\"}\n");
        Map<String, Object> inputs = Map.of("documents", raw.toString(), "decontaminate", eval.toString());
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir.resolve("work"), 0, false, 2), Map.of())) {
            SeedEngine engine = host.engine();
            Execution done = engine.awaitTerminated(engine.launch("seed.curate", inputs, "alice").getId(),
                    Duration.ofMinutes(3));
            assertEquals(State.Type.SUCCESS, done.getState().getCurrent(), () -> done.getState().toString());
            Map<String, Object> out = done.getOutputs();
            assertEquals(2, ((Number) out.get("docs_out")).intValue(), out.toString());
            String rules = Files.readString(Path.of((String) out.get("rules")));
            assertTrue(rules.contains("exact_dedup\t1\t") && rules.contains("decontamination\t1\t"), rules);
            assertTrue(Files.readString(Path.of((String) out.get("corpus"))).contains(first));

            Execution again = engine.awaitTerminated(engine.launch("seed.curate", inputs, "alice").getId(),
                    Duration.ofMinutes(3));
            assertEquals(State.Type.SUCCESS, again.getState().getCurrent());
            assertEquals(out.get("corpus"), again.getOutputs().get("corpus"), "the same inputs reuse the store");

            // the settings are a typed map: every setting (defaults too) is in the address and the run's record
            Execution changed = engine.awaitTerminated(engine.launch("seed.curate", Map.of("documents",
                    raw.toString(), "decontaminate", eval.toString(), "settings", Map.of("gopher_min_words", 40)),
                    "alice").getId(), Duration.ofMinutes(3));
            assertEquals(State.Type.SUCCESS, changed.getState().getCurrent());
            assertNotEquals(out.get("corpus"), changed.getOutputs().get("corpus"), "a setting is part of the address");
            JsonNode recorded = new ObjectMapper().readTree(Path.of((String) changed.getOutputs().get("corpus"))
                    .resolveSibling("done.json").toFile()).path("settings");
            for (String name : CurateSettings.defaults().values().keySet()) {
                assertTrue(recorded.has(name), name + " is recorded: " + recorded);
            }
            assertEquals(40, recorded.path("gopher_min_words").asInt());
            assertEquals(0.78, recorded.path("minhash_verify").asDouble());
            Execution sameAsText = engine.awaitTerminated(engine.launch("seed.curate", Map.of("documents",
                    raw.toString(), "decontaminate", eval.toString(), "settings", "{\"gopher_min_words\": 40}"),
                    "alice").getId(), Duration.ofMinutes(3));
            assertEquals(changed.getOutputs().get("corpus"), sameAsText.getOutputs().get("corpus"),
                    "the same settings as JSON text: the same address");
            // refused before the run exists: an unknown name, a wrong type, each named with the known settings
            for (Map.Entry<String, Object> bad : Map.<String, Object>of("gopher_min_wrds", 40, "gopher_min_words",
                    "forty", "c4", 0).entrySet()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.launch(
                        "seed.curate", Map.of("documents", raw.toString(), "settings", Map.of(bad.getKey(),
                                bad.getValue())), "alice"));
                assertTrue(e.getMessage().contains("'" + bad.getKey() + "'") && e.getMessage().contains(
                        "known: split, exact_dedup"), e.getMessage());
            }

            // the flow's regex filter (a JSON list; backslashes survive the subflow's templating)
            Path marked = Files.createDirectories(dir.resolve("marked"));
            Files.writeString(marked.resolve("a.txt"), prose(random));
            Files.writeString(marked.resolve("e.txt"), prose(random) + "\nOrder code ZX-4711 is on the letter.");
            Execution filtered = engine.awaitTerminated(engine.launch("seed.curate", Map.of("documents",
                    marked.toString(), "filter_regex", java.util.List.of("\\bZX-\\d+\\b")), "alice").getId(),
                    Duration.ofMinutes(3));
            assertEquals(State.Type.SUCCESS, filtered.getState().getCurrent(), () -> filtered.getState().toString());
            assertEquals(1, ((Number) filtered.getOutputs().get("docs_out")).intValue());
            String filteredRules = Files.readString(Path.of((String) filtered.getOutputs().get("rules")));
            assertTrue(filteredRules.contains("regex\t1\t"), filteredRules);

            // seed.three-stage with curate=true: its first step curates and pretraining reads the curated corpus
            // (a missing base model then stops the run at pretraining, so the rest of the chain is not paid for)
            // (the held-out prompts are decontaminated against: the leaked document goes)
            Path heldOut = Files.writeString(dir.resolve("held-out.jsonl"), "{\"prompt\": \"" + leaked + "\"}\n");
            Execution chain = engine.awaitTerminated(engine.launch("seed.three-stage", Map.of("corpus",
                    raw.toString(), "curate", true, "curate_settings", Map.of("split", "file"), "base_model",
                    dir.resolve("no-such-model").toString(), "sft_data", "x", "prompts", "x", "held_out_prompts",
                    heldOut.toString(), "report_dir", dir.resolve("report").toString()), "alice").getId(),
                    Duration.ofMinutes(3));
            assertEquals(State.Type.FAILED, chain.getState().getCurrent());
            assertEquals(java.util.List.of("curate"), ThreeStageFlowTest.succeeded(chain));
            Map<String, Object> curateOut = ThreeStageFlowTest.childOf(engine, chain.getId(), "curate").getOutputs();
            Object curated = curateOut.get("corpus");
            String chainRules = Files.readString(Path.of((String) curateOut.get("rules")));
            assertTrue(chainRules.contains("decontamination\t1\t"), chainRules);
            assertTrue(Files.isRegularFile(Path.of((String) curated)), String.valueOf(curated));
            Execution pretrain = ThreeStageFlowTest.childOf(engine, chain.getId(), "pretrain");
            assertEquals(curated, pretrain.getInputs().get("corpus"), "pretraining reads the curated corpus");
        }
    }

    /** About 150 words of sentences that pass Gopher's and C4's rules. */
    private static String prose(SplittableRandom random) {
        StringBuilder sb = new StringBuilder();
        for (int line = 0; line < 6; line++) {
            for (int s = 0; s < 2; s++) {
                int n = 10 + random.nextInt(5);
                for (int w = 0; w < n; w++) {
                    String word = WORDS[random.nextInt(WORDS.length)];
                    sb.append(w == 0 ? Character.toUpperCase(word.charAt(0)) + word.substring(1) : word)
                            .append(w == n - 1 ? "." : " ");
                }
                sb.append(s == 0 ? " " : "\n");
            }
        }
        return sb.toString().strip();
    }
}
