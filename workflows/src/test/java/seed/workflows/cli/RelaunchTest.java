package seed.workflows.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A relaunched demo continues the run its killed process left only when that run had the same inputs, as Kestra
 * stored them: a JSON input given as text comes back as a list, numbers in Kestra's widths. Any changed value means
 * another run (the old one is cancelled first).
 */
class RelaunchTest {

    @Test
    void inputsCompareAsKestraStoresThem() {
        Map<String, Object> stored = new LinkedHashMap<>();
        stored.put("corpus", "/w/data/corpus.txt");
        stored.put("checks", List.of("polite-correct"));
        stored.put("reward_checks", Map.of("b", 1, "a", 0.5));
        stored.put("pretrain_steps", 300L);
        stored.put("collapse_below", 0.3);
        stored.put("alignment", "ppo"); // a flow default the demo did not pass
        Execution left = Execution.builder().id("e1").namespace("seed").flowId("three-stage").inputs(stored)
                .state(new State()).build();

        Map<String, Object> given = new LinkedHashMap<>();
        given.put("corpus", "/w/data/corpus.txt");
        given.put("checks", "[\"polite-correct\"]");
        given.put("reward_checks", "{\"a\": 0.5, \"b\": 1}");
        given.put("pretrain_steps", 300);
        given.put("collapse_below", 0.3);
        assertTrue(Relaunch.sameInputs(left, given));

        for (Map.Entry<String, Object> change : Map.<String, Object>of("pretrain_steps", 301, "checks", "[]",
                "corpus", "/other/corpus.txt", "alignment", "dpo").entrySet()) {
            Map<String, Object> other = new LinkedHashMap<>(given);
            other.put(change.getKey(), change.getValue());
            assertFalse(Relaunch.sameInputs(left, other), change.toString());
        }
    }
}
