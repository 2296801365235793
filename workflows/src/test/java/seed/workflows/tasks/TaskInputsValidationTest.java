package seed.workflows.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kestra.core.models.flows.FlowSource;
import io.kestra.core.models.validations.ValidateConstraintViolation;
import io.kestra.core.serializers.JacksonMapper;
import io.kestra.core.services.FlowService;
import io.kestra.core.tenant.TenantService;
import io.micronaut.context.ApplicationContext;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.workflows.engine.SeedEngine;

/**
 * Issue 17: Seed's tasks declare their required inputs {@code @NotNull}, so Kestra's own flow validation (the service
 * behind its {@code POST /flows/validate}, which also runs when a flow is saved) refuses a flow that lacks one, before
 * anything runs; and the choice inputs are enums that read the flows' spelling ("left", "end-logprob").
 */
class TaskInputsValidationTest {

    @TempDir
    static Path dir;
    static ApplicationContext context;
    static FlowService flows;

    @BeforeAll
    static void start() {
        context = ApplicationContext.builder().deduceEnvironment(false).properties(Map.of(
                "kestra.anonymous-usage-report.enabled", false, "micronaut.server.port", -1,
                "endpoints.all.enabled", false, "kestra.repository.type", "memory", "kestra.queue.type", "memory",
                "kestra.storage.type", "local", "kestra.storage.local.base-path", dir.toString())).start();
        flows = context.getBean(FlowService.class);
    }

    @AfterAll
    static void stop() {
        if (context != null) {
            context.close();
        }
    }

    private static ValidateConstraintViolation validate(String name, String yaml) {
        List<ValidateConstraintViolation> v = flows.validate(TenantService.MAIN_TENANT, List.of(new FlowSource(name, yaml)));
        assertEquals(1, v.size());
        return v.get(0);
    }

    @Test
    void seedsOwnFlowsValidate() throws Exception {
        List<String> problems = new ArrayList<>();
        for (String name : SeedEngine.FLOW_FILES) {
            try (InputStream in = SeedEngine.class.getResourceAsStream("/flows/" + name)) {
                ValidateConstraintViolation v = validate(name, new String(in.readAllBytes(), StandardCharsets.UTF_8));
                if (v.getConstraints() != null) {
                    problems.add(name + ": " + v.getConstraints());
                }
            }
        }
        assertTrue(problems.isEmpty(), problems.toString());
    }

    @Test
    void aFlowLackingARequiredInputIsRefused() {
        ValidateConstraintViolation missing = validate("await.yaml", """
                id: await
                namespace: seed
                tasks:
                  - id: await
                    type: seed.workflows.tasks.AwaitRankings
                    waitFor: PT1M
                """);
        String why = String.valueOf(missing.getConstraints());
        assertTrue(why.contains("itemIds") && why.contains("minRankings") && why.contains("must not be null"), why);

        ValidateConstraintViolation sft = validate("sft.yaml", """
                id: sft
                namespace: seed
                tasks:
                  - id: sft
                    type: seed.workflows.tasks.Sft
                    data: /data/sft.jsonl
                """);
        assertTrue(String.valueOf(sft.getConstraints()).contains("base"), String.valueOf(sft.getConstraints()));

        // the same flow with the input given is valid
        ValidateConstraintViolation given = validate("await.yaml", """
                id: await
                namespace: seed
                tasks:
                  - id: await
                    type: seed.workflows.tasks.AwaitRankings
                    itemIds: "{{ outputs.load.itemIds }}"
                    minRankings: 10
                """);
        assertNull(given.getConstraints());
    }

    @Test
    void choicesReadTheFlowsSpellingAndNameTheValues() {
        var json = JacksonMapper.ofJson();
        assertEquals(Choices.PromptTruncation.LEFT, json.convertValue("left", Choices.PromptTruncation.class));
        assertEquals(Choices.Readout.END_LOGPROB, json.convertValue("end-logprob", Choices.Readout.class));
        assertEquals(Choices.ResponseTruncation.DROP, json.convertValue("DROP", Choices.ResponseTruncation.class));
        assertEquals("end-logprob", Choices.spelling(Choices.Readout.END_LOGPROB));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Choices.PromptTruncation.of("sideways"));
        assertTrue(e.getMessage().contains("[left, error]"), e.getMessage());
        assertEquals(SnapshotPreferences.Scope.ALL, json.convertValue("ALL", SnapshotPreferences.Scope.class));
    }
}
