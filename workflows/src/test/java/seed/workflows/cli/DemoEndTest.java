package seed.workflows.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The demo's last lines: every output once, the table first, and the unsafe rates last whatever order the flow's
 * outputs came in. The demo used to print the unsafe rates twice (once among the outputs, once more at the end).
 */
class DemoEndTest {

    @Test
    void theUnsafeRatesArePrintedOnceAndLast() {
        Map<String, Object> outputs = new LinkedHashMap<>();
        outputs.put("unsafe_rate_sft", 0.078);
        outputs.put("table", "stage | seconds");
        outputs.put("unsafe_rate_policy", 0.0);
        outputs.put("rule_rate_policy", 0.58);
        Execution end = Execution.builder().id("e1").namespace("seed").flowId("seed.three-stage")
                .state(new State().withState(State.Type.RUNNING).withState(State.Type.SUCCESS)).outputs(outputs)
                .build();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = DemoCommand.printEnd(null, end, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        assertEquals(0, code);
        List<String> lines = Arrays.asList(bytes.toString(StandardCharsets.UTF_8).split("\n"));
        for (String name : List.of("unsafe_rate_sft", "unsafe_rate_policy", "rule_rate_policy", "execution", "state")) {
            assertEquals(1, lines.stream().filter(l -> l.startsWith(name + "=")).count(), name + " in " + lines);
        }
        assertEquals(1, lines.stream().filter("stage | seconds"::equals).count(), lines.toString());
        assertEquals(List.of("unsafe_rate_sft=0.078", "unsafe_rate_policy=0.0"),
                lines.subList(lines.size() - 2, lines.size()), lines.toString());
    }
}
