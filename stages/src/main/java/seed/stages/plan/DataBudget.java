package seed.stages.plan;

import java.util.ArrayList;
import java.util.List;

/**
 * Whether a training run is sized for its data: a run that sees fewer than 5 tokens per parameter is far from
 * Chinchilla's ~20 (the model is too big for the budget), and one that repeats its data more than 4 epochs gains
 * little from the repeats (Muennighoff et al. 2023: up to ~4 epochs are about as good as fresh data).
 */
public final class DataBudget {

    public static final double MIN_TOKENS_PER_PARAM = 5;
    public static final double MAX_EPOCHS = 4;

    private DataBudget() {
    }

    /** Warnings for a run of {@code params} that trains on {@code tokensSeen} tokens out of {@code corpusTokens}. */
    public static List<String> warnings(long params, double tokensSeen, double corpusTokens) {
        List<String> out = new ArrayList<>();
        double perParam = tokensSeen / params;
        if (perParam < MIN_TOKENS_PER_PARAM) {
            out.add(String.format("the run sees %.2f tokens per parameter (%,.0f tokens, %,d parameters), fewer than "
                    + "%.0f; compute-optimal is ~%.0f: a smaller model or more steps (seed plan --tokens %.0f suggests "
                    + "a size)", perParam, tokensSeen, params, MIN_TOKENS_PER_PARAM, ScalingLaw.TOKENS_PER_PARAM,
                    corpusTokens));
        }
        double epochs = tokensSeen / corpusTokens;
        if (epochs > MAX_EPOCHS) {
            out.add(String.format("the run repeats its training data %.1f times (%,.0f tokens seen, %,.0f in the "
                    + "corpus), more than %.0f epochs: more data or fewer steps", epochs, tokensSeen, corpusTokens,
                    MAX_EPOCHS));
        }
        return out;
    }
}
