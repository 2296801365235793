package seed.workflows.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

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
}
