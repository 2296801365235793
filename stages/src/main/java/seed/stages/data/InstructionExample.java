package seed.stages.data;

/** One SFT example as read from JSONL: the prompt, the wanted response, and where it came from (for errors). */
public record InstructionExample(String prompt, String response, int lineNumber) {
}
