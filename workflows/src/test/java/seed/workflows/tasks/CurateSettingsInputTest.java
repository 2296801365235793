package seed.workflows.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import seed.workflows.engine.FlowInputs;

/**
 * The {@code Curate} task's own check of its {@code settings} map (a flow run from Kestra directly, with templated
 * values, skips Seed's launch check): the input and the setting are named, the known settings listed.
 */
class CurateSettingsInputTest {

    @Test
    void theTaskRefusesBadSettingsNamingTheInputAndTheSetting() {
        assertEquals(30, Curate.rules(Map.of("gopher_min_words", "30")).values().get("gopher_min_words"),
                "a templated value renders to a string of the right type");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Curate.rules(Map.of("minhash_bands", 1.5)));
        assertTrue(e.getMessage().startsWith("input 'settings': curate setting 'minhash_bands' must be an integer")
                && e.getMessage().contains("known: split,"), e.getMessage());
    }

    /** Seed's launch check (before any service starts): the flows' curation settings, as JSON text or a map. */
    @Test
    void launchesWithBadCurationSettingsAreRefusedBeforeTheRun() {
        FlowInputs.FlowSpec curate = FlowInputs.of("seed.curate");
        assertEquals(List.of(), FlowInputs.problems(curate, Map.of("documents", "raw", "settings",
                "{\"gopher_min_words\": 30, \"c4\": false}")));
        List<String> text = FlowInputs.problems(curate, Map.of("documents", "raw", "settings", "gopher_min_words=30"));
        assertEquals(List.of("settings=gopher_min_words=30 is not JSON"), text);
        List<String> typed = FlowInputs.problems(curate, Map.of("documents", "raw", "settings",
                "{\"c4\": \"no\"}"));
        assertTrue(typed.size() == 1 && typed.get(0).startsWith("settings: curate setting 'c4' must be a boolean"),
                typed.toString());
        List<String> chain = FlowInputs.problems(FlowInputs.of("seed.three-stage"), Map.of("curate_settings",
                Map.of("gopher_min_wrds", 30)));
        assertTrue(chain.stream().anyMatch(p -> p.startsWith("curate_settings: unknown curate setting "
                + "'gopher_min_wrds'")), chain.toString());
    }
}
