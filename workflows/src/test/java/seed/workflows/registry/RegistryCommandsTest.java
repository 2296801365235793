package seed.workflows.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import seed.annotation.core.Catalog;
import seed.annotation.infra.Infra;
import seed.annotation.infra.InfraConfig;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;
import seed.workflows.SeedCli;
import seed.workflows.lineage.LineageRecord;
import seed.workflows.lineage.LineageStore;

/**
 * {@code seed models}, {@code seed promote} and {@code seed rollback} on a real PostgreSQL and Kafka: auditors read,
 * only operators change, each change is a history row and a signed lineage record, and a rollback goes back to the
 * checkpoint the alias named before.
 */
class RegistryCommandsTest {

    @Test
    void operatorsPromoteAndRollBackAuditorsOnlyRead(@TempDir Path dir) throws Exception {
        Path a = checkpoint(dir.resolve("a"), 1);
        Path b = checkpoint(dir.resolve("b"), 2);
        try (Infra infra = Infra.start(InfraConfig.embedded(dir.resolve("data")))) {
            Catalog people = new Catalog(infra.dataSource());
            String operator = people.createAnnotator("olga", "operator").token();
            String auditor = people.createAnnotator("audrey", "auditor").token();
            String annotator = people.createAnnotator("ann", "annotator").token();
            List<String> where = List.of("--jdbc-url", infra.jdbcUrl(), "--jdbc-user", infra.jdbcUser(),
                    "--jdbc-password", infra.jdbcPassword(),
                    "--kafka-bootstrap", infra.kafkaBootstrap(), "--data-dir", infra.config().dataDir().toString());

            Run refused = seed(where, "promote", "--token", auditor, "--model", a.toString(), "--reason", "try");
            assertEquals(2, refused.code(), refused.out());
            assertTrue(refused.out().contains("role 'auditor' may not promote (operator only)"), refused.out());
            Run nobody = seed(where, "models", "--token", annotator);
            assertEquals(2, nobody.code(), nobody.out());
            assertTrue(nobody.out().contains("operator and auditor only"), nobody.out());
            Run notAModel = seed(where, "promote", "--token", operator, "--model", dir.toString(), "--reason", "x");
            assertEquals(2, notAModel.code(), notAModel.out());
            assertTrue(notAModel.out().contains("holds no checkpoint"), notAModel.out());

            Run first = seed(where, "promote", "--token", operator, "--model", a.toString(), "--reason", "first");
            assertEquals(0, first.code(), first.out());
            Run noEarlier = seed(where, "rollback", "--token", operator);
            assertEquals(2, noEarlier.code(), noEarlier.out());
            assertTrue(noEarlier.out().contains("no earlier checkpoint"), noEarlier.out());
            Run second = seed(where, "promote", "--token", operator, "--model", b.toString(), "--reason", "second");
            assertEquals(0, second.code(), second.out());
            ModelRegistry registry = new ModelRegistry(infra.dataSource());
            String shaA = registry.history("production", 10).get(1).sha256();
            String shaB = registry.current("production").orElseThrow().sha256();

            Run back = seed(where, "rollback", "--token", operator, "--reason", "b answers badly");
            assertEquals(0, back.code(), back.out());
            ModelRegistry.Entry now = registry.current("production").orElseThrow();
            assertEquals(shaA, now.sha256());
            assertEquals(shaB, now.previousSha256());
            assertEquals(ModelRegistry.Action.ROLLBACK, now.action());
            assertEquals("olga", now.changedBy());
            assertEquals("b answers badly", now.reason());

            Run byHash = seed(where, "promote", "--token", operator, "--hash", shaB.substring(0, 12), "--reason",
                    "fixed", "--alias", "canary");
            assertEquals(0, byHash.code(), byHash.out());
            assertEquals(shaB, registry.current("canary").orElseThrow().sha256());

            Run list = seed(where, "models", "--token", auditor);
            assertEquals(0, list.code(), list.out());
            assertTrue(list.out().contains("production@" + shaA.substring(0, 12)), list.out());
            assertTrue(list.out().contains("canary@" + shaB.substring(0, 12)), list.out());
            assertTrue(list.out().contains("production rollback " + shaA.substring(0, 12) + " by olga: b answers badly"),
                    list.out());

            List<LineageRecord> records = new LineageStore(infra.dataSource()).completed("registry");
            assertEquals(4, records.size());
            for (ModelRegistry.Entry e : registry.history(null, 10)) {
                assertTrue(records.stream().anyMatch(r -> r.taskRunId().equals(e.lineageTaskRun())
                        && r.run().launchedBy().equals("olga")), e.toString());
            }
        }
    }

    private record Run(int code, String out) {
    }

    private static Run seed(List<String> where, String... args) {
        StringWriter out = new StringWriter();
        CommandLine cl = SeedCli.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(out, true));
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(where);
        int code = cl.execute(all.toArray(String[]::new));
        return new Run(code, out.toString());
    }

    private static Path checkpoint(Path dir, long seed) throws Exception {
        Files.createDirectories(dir);
        try (Gpt gpt = Gpt.initialize(new GptConfig(259, 32, 1, 16, 2), seed)) {
            Checkpoints.writeModel(dir, gpt, new ByteTokenizer());
        }
        return dir;
    }
}
