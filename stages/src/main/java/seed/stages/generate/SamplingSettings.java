package seed.stages.generate;

import java.util.List;

/**
 * How to sample new tokens. The penalties and min-p are the inference settings people tune beyond temperature,
 * top-k and top-p (OpenAI's and vLLM's names and meanings, so {@code seed generate} and {@code seed serve} agree).
 *
 * @param temperature       softmax temperature; 0 = greedy (argmax, after the penalties)
 * @param topK              keep the k most likely tokens (0 = all)
 * @param topP              keep the smallest set of tokens whose probability reaches p (1 = all)
 * @param maxNewTokens      at most this many new tokens (also bounded by the model's context)
 * @param stop              stop a sequence when its text ends with any of these strings (the stop string is cut off)
 * @param seed              seeds sampling; the same seed gives the same text
 * @param kvCache           reuse keys/values of earlier tokens (off only for comparison: O(n^2) work)
 * @param frequencyPenalty  OpenAI's: subtracted from a token's logit once per time it was already generated
 *                          (0 = off; -2..2 in OpenAI's API)
 * @param presencePenalty   OpenAI's: subtracted from a token's logit once if it was already generated (0 = off)
 * @param repetitionPenalty Hugging Face's (CTRL's) multiplicative penalty on every token seen in the prompt or the
 *                          output: positive logits divided by it, negative ones multiplied (1 = off)
 * @param minP              keep only tokens whose probability is at least minP times the most likely one's (0 = off)
 */
public record SamplingSettings(float temperature, int topK, float topP, int maxNewTokens, List<String> stop, long seed,
        boolean kvCache, float frequencyPenalty, float presencePenalty, float repetitionPenalty, float minP) {

    public static SamplingSettings defaults() {
        return new SamplingSettings(0.8f, 0, 1.0f, 128, List.of(), 42, true);
    }

    /** The settings without penalties or min-p (what every caller used before they existed). */
    public SamplingSettings(float temperature, int topK, float topP, int maxNewTokens, List<String> stop, long seed,
            boolean kvCache) {
        this(temperature, topK, topP, maxNewTokens, stop, seed, kvCache, 0f, 0f, 1f, 0f);
    }

    public SamplingSettings {
        if (temperature < 0) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
        }
        if (!Float.isFinite(frequencyPenalty) || !Float.isFinite(presencePenalty)) {
            throw new IllegalArgumentException("frequency and presence penalties must be finite numbers");
        }
        if (!(repetitionPenalty > 0) || !Float.isFinite(repetitionPenalty)) {
            throw new IllegalArgumentException("repetition penalty must be > 0 (1 = off), got " + repetitionPenalty);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
        }
        stop = stop == null ? List.of() : List.copyOf(stop);
    }

    /** Whether any penalty is on (the sampler then counts the tokens it has seen). */
    public boolean penalised() {
        return frequencyPenalty != 0 || presencePenalty != 0 || repetitionPenalty != 1;
    }

    public SamplingSettings withKvCache(boolean on) {
        return new SamplingSettings(temperature, topK, topP, maxNewTokens, stop, seed, on, frequencyPenalty,
                presencePenalty, repetitionPenalty, minP);
    }

    public SamplingSettings withMaxNewTokens(int n) {
        return new SamplingSettings(temperature, topK, topP, n, stop, seed, kvCache, frequencyPenalty,
                presencePenalty, repetitionPenalty, minP);
    }

    public SamplingSettings withSeed(long newSeed) {
        return new SamplingSettings(temperature, topK, topP, maxNewTokens, stop, newSeed, kvCache, frequencyPenalty,
                presencePenalty, repetitionPenalty, minP);
    }

    /** These settings with the given penalties and min-p (see the record's parameters for their meanings). */
    public SamplingSettings withPenalties(float frequency, float presence, float repetition, float newMinP) {
        return new SamplingSettings(temperature, topK, topP, maxNewTokens, stop, seed, kvCache, frequency, presence,
                repetition, newMinP);
    }
}
