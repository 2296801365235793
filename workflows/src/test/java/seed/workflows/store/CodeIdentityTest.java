package seed.workflows.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A stage's store address depends on the code of the modules it runs only: an edit to the reward model keeps
 * pretraining's and SFT's artifacts (before, any edit anywhere re-ran pretraining), while an edit to {@code stages}
 * re-addresses every stage that trains with it.
 */
class CodeIdentityTest {

    private static final Map<String, Object> RUNTIME = Map.of("djl", "0.35.1", "libtorch", "2.7.1", "device", "cpu",
            "precision", "fp32");
    private static final Map<String, String> CODE = Map.of("stages", "s1", "reward-model", "r1", "annotation", "a1",
            "workflows", "w1");
    private static final List<String> STAGES = List.of("pretrain", "sft", "rlhf", "candidates", "curate", "reward",
            "dpo", "evaluate", "load-items", "unknown-stage");

    @Test
    void aChangeInOneModuleKeepsTheAddressesOfTheStagesThatDoNotRunIt() {
        Map<String, Object> before = identities(CODE);
        assertEquals(before, identities(CODE), "the same code, the same identities");

        Map<String, Object> reward = identities(changed("reward-model"));
        for (String stage : List.of("pretrain", "sft", "candidates", "curate", "load-items")) {
            assertEquals(before.get(stage), reward.get(stage), stage + " does not run the reward model's code");
        }
        for (String stage : List.of("rlhf", "reward", "dpo", "evaluate", "unknown-stage")) {
            assertNotEquals(before.get(stage), reward.get(stage), stage + " runs the reward model's code");
        }

        Map<String, Object> stages = identities(changed("stages"));
        for (String stage : STAGES) {
            boolean runsIt = !stage.equals("load-items");
            assertEquals(runsIt, !before.get(stage).equals(stages.get(stage)), stage);
        }

        Map<String, Object> workflows = identities(changed("workflows"));
        for (String stage : STAGES) {
            assertEquals(stage.equals("unknown-stage"), !before.get(stage).equals(workflows.get(stage)), stage);
        }
    }

    @Test
    void thisJvmsModulesHashAndTheRuntimeIsPartOfTheIdentity() {
        Map<String, String> here = CodeIdentity.moduleHashes();
        assertEquals(List.of("annotation", "reward-model", "stages", "workflows"), List.copyOf(new TreeMap<>(here)
                .keySet()));
        here.forEach((module, hash) -> assertTrue(hash.matches("[0-9a-f]{64}"), module + ": " + hash));
        assertNotEquals(here.get("stages"), here.get("reward-model"));
        Map<String, Object> pretrain = CodeIdentity.forStage("pretrain");
        assertEquals("stages", pretrain.get("seed_modules"));
        assertTrue(pretrain.keySet().containsAll(RUNTIME.keySet()), pretrain.toString());
    }

    private static Map<String, String> changed(String module) {
        Map<String, String> m = new TreeMap<>(CODE);
        m.put(module, m.get(module) + "-edited");
        return m;
    }

    private static Map<String, Object> identities(Map<String, String> code) {
        Map<String, Object> out = new TreeMap<>();
        for (String stage : STAGES) {
            out.put(stage, CodeIdentity.forStage(stage, code, RUNTIME).get("seed_code_sha256"));
        }
        return out;
    }
}
