package seed.stages.cli;

import picocli.CommandLine.Option;
import seed.stages.data.Truncation;

/**
 * The truncation flags of {@code seed sft}, {@code seed reward train}, {@code seed candidates} and {@code seed rlhf},
 * with TRL's meanings (a picocli mixin; see {@link Truncation}). Commands that generate the response ignore
 * {@code --truncate-response}: only prompts can be cut there.
 */
public final class TruncationOptions {

    @Option(names = "--max-length", description = "Prompt + response tokens at most (default: the model's context).")
    int maxLength = 0;

    @Option(names = "--max-prompt-length", description = "Hard cap on prompt tokens (default: none; when something "
            + "must be cut, the prompt gives way first, down to half of --max-length).")
    int maxPromptLength = 0;

    @Option(names = "--truncate-prompt", description = "A prompt that does not fit: 'error' (default, naming the line) "
            + "or 'left' (cut its beginning, keep its end).")
    String truncatePrompt = "error";

    @Option(names = "--truncate-response", description = "A response that does not fit after the prompt: 'error' "
            + "(default, naming the line), 'right' (cut its end) or 'drop' (skip the example).")
    String truncateResponse = "error";

    public Truncation truncation() {
        return Truncation.parse(maxLength, maxPromptLength, truncatePrompt, truncateResponse);
    }
}
