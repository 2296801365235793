package seed.stages.cli;

import picocli.CommandLine.Option;
import seed.stages.generate.SamplingSettings;

/**
 * The sampling penalties and min-p as flags, one definition for every sampling command ({@code generate},
 * {@code candidates}); the names and meanings are OpenAI's, Hugging Face's and vLLM's, as {@code seed serve} accepts
 * them in requests.
 */
public final class PenaltyOptions {

    @Option(names = "--min-p", description = "Keep tokens at least this fraction as likely as the most likely one, "
            + "0 = off (default: ${DEFAULT-VALUE}).")
    float minP = 0f;

    @Option(names = "--frequency-penalty", description = "OpenAI's: subtract this times the number of times a token "
            + "was already generated from its logit (default: ${DEFAULT-VALUE}).")
    float frequencyPenalty = 0f;

    @Option(names = "--presence-penalty", description = "OpenAI's: subtract this from the logit of every token "
            + "already generated (default: ${DEFAULT-VALUE}).")
    float presencePenalty = 0f;

    @Option(names = "--repetition-penalty", description = "Hugging Face's: divide positive (multiply negative) logits "
            + "of tokens in the prompt or output by this, 1 = off (default: ${DEFAULT-VALUE}).")
    float repetitionPenalty = 1f;

    /** {@code settings} with these penalties and min-p. */
    public SamplingSettings apply(SamplingSettings settings) {
        return settings.withPenalties(frequencyPenalty, presencePenalty, repetitionPenalty, minP);
    }
}
