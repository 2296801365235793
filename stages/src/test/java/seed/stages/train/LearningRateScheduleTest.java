package seed.stages.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

/** The commands' default floor must be the defaults' floor bit for bit, or the same settings train different models. */
class LearningRateScheduleTest {

    @Test
    void aTenthIsTakenInDecimalSoCommandsAndDefaultsAgree() {
        assertNotEquals(1e-4f, 1e-3f / 10, "float division lands one ulp off, the bug this guards against");
        assertEquals(1e-4f, LearningRateSchedule.tenthOf(1e-3f));
        assertEquals(3e-4f, LearningRateSchedule.tenthOf(3e-3f));
        assertEquals(2e-5f, LearningRateSchedule.tenthOf(2e-4f));
        assertEquals(TrainSettings.defaults().minLearningRate(),
                LearningRateSchedule.tenthOf(TrainSettings.defaults().learningRate()));
    }
}
