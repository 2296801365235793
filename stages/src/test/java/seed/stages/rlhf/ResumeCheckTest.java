package seed.stages.rlhf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A resume is refused on every difference of settings: changed, added and dropped ones, at any depth. */
class ResumeCheckTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    @Test
    void sameSettingsHaveNoDifference() throws Exception {
        JsonNode s = json("{\"steps\": 40, \"kl\": {\"coef\": 0.1, \"target\": 6}}");
        assertEquals(List.of(), ResumeCheck.differences(s, s.deepCopy()));
        ResumeCheck.requireSame(s, s.deepCopy(), "out");
    }

    @Test
    void changedAddedAndDroppedSettingsAreDifferences() throws Exception {
        JsonNode saved = json("{\"steps\": 40, \"reward_checks\": {\"safe\": 1.0}, \"kl\": {\"coef\": 0.1, \"target\": 6}}");
        JsonNode now = json("{\"steps\": 50, \"kl\": {\"coef\": 0.1, \"horizon\": 100}}");
        assertEquals(List.of("steps: 40 -> 50", "kl.horizon: (none) -> 100", "kl.target: 6 -> (none)",
                "reward_checks: {\"safe\":1.0} -> (none)"), ResumeCheck.differences(saved, now));
    }

    @Test
    void aResumeWithoutASavedSettingIsRefusedNamingIt() throws Exception {
        JsonNode saved = json("{\"steps\": 40, \"seed\": 7}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ResumeCheck.requireSame(saved, json("{\"steps\": 40}"), "run-a"));
        assertTrue(e.getMessage().contains("cannot resume run-a") && e.getMessage().contains("seed: 7 -> (none)"),
                e.getMessage());
    }
}
