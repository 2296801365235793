package seed.workflows.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Issue 17, item 5: a stage refusing an example in a flow run named command-line flags the operator never passed
 * ("--max-length 49", "pass --truncate-response right"); in a flow it must name the flow inputs to set.
 */
class FlowTermsTest {

    @Test
    void stageMessagesNameFlowInputsNotCommandLineFlags() {
        String stage = "sft.jsonl:3: the response has 40 tokens but only 29 fit after the prompt (--max-length 49); "
                + "pass --truncate-response right to cut its end or drop to skip the example";
        assertEquals("sft.jsonl:3: the response has 40 tokens but only 29 fit after the prompt (max_length=49); "
                + "pass truncate_response=right to cut its end or drop to skip the example",
                SeedTask.inFlowTerms(new IllegalArgumentException(stage)).getMessage());
        assertEquals("no flags here", SeedTask.inFlowTerms(new IllegalArgumentException("no flags here")).getMessage());
    }
}
