package seed.workflows.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two training stages launched at once in one engine with two worker threads (what a relaunched demo met: the run it
 * launched beside the run Kestra resubmitted from the killed process). DJL allows one gradient collector per process,
 * so the second stage used to fail mid-step with "A PtGradientCollector is already collecting"; now it waits for the
 * first and both runs end SUCCESS.
 */
class TwoTrainingRunsTest {

    @Test
    void pretrainAndSftAtOnceBothSucceed(@TempDir Path dir) throws Exception {
        Path corpus = Files.writeString(dir.resolve("corpus.txt"), "all the world's a stage, and all the men and women "
                + "merely players. ".repeat(400));
        StringBuilder pairs = new StringBuilder();
        for (int a = 0; a < 8; a++) {
            for (int b = 0; b < 8; b++) {
                pairs.append("{\"prompt\": \"").append(a).append("+").append(b).append("?\", \"response\": \"")
                        .append(a + b).append("\"}\n");
            }
        }
        Path data = Files.writeString(dir.resolve("sft.jsonl"), pairs);
        try (SeedHost host = SeedHost.start(new SeedHost.Options(dir.resolve("work"), 0, false, 2), Map.of())) {
            SeedEngine engine = host.engine();
            Execution base = engine.awaitTerminated(engine.launch("seed.pretrain", pretrain(corpus, 1, 20), "alice")
                    .getId(), Duration.ofMinutes(5));
            assertEquals(State.Type.SUCCESS, base.getState().getCurrent(), () -> base.getState().toString());
            // two different stage flows (each flow's own concurrency limit is one run): they start together
            List<String> ids = List.of(
                    engine.launch("seed.pretrain", pretrain(corpus, 2, 150), "alice").getId(),
                    engine.launch("seed.sft", Map.of("base", base.getOutputs().get("checkpoint"), "data",
                            data.toString(), "steps", 150, "batch", 8), "alice").getId());
            String waited = "";
            for (String id : ids) {
                Execution done = engine.awaitTerminated(id, Duration.ofMinutes(8));
                String log = RunViews.logs(engine, done, null).stream().map(l -> String.valueOf(l.get("message")))
                        .collect(Collectors.joining("\n"));
                assertEquals(State.Type.SUCCESS, done.getState().getCurrent(), log);
                if (log.contains(": waiting for ")) {
                    waited = id;
                }
            }
            assertTrue(!waited.isEmpty(), "the two runs overlapped: one of them waited for the other");
        }
    }

    private static Map<String, Object> pretrain(Path corpus, int seed, int steps) {
        return Map.of("corpus", corpus.toString(), "steps", steps, "layers", 1, "d_model", 32, "heads", 2,
                "context", 32, "seed", seed);
    }
}
