package seed.stages.generate;

import java.util.List;

/**
 * How to sample new tokens.
 *
 * @param temperature   softmax temperature; 0 = greedy (argmax)
 * @param topK          keep the k most likely tokens (0 = all)
 * @param topP          keep the smallest set of tokens whose probability reaches p (1 = all)
 * @param maxNewTokens  at most this many new tokens (also bounded by the model's context)
 * @param stop          stop a sequence when its text ends with any of these strings (the stop string is cut off)
 * @param seed          seeds sampling; the same seed gives the same text
 * @param kvCache       reuse keys/values of earlier tokens (off only for comparison: O(n^2) work)
 */
public record SamplingSettings(float temperature, int topK, float topP, int maxNewTokens, List<String> stop, long seed,
        boolean kvCache) {

    public static SamplingSettings defaults() {
        return new SamplingSettings(0.8f, 0, 1.0f, 128, List.of(), 42, true);
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
        stop = stop == null ? List.of() : List.copyOf(stop);
    }

    public SamplingSettings withKvCache(boolean on) {
        return new SamplingSettings(temperature, topK, topP, maxNewTokens, stop, seed, on);
    }

    public SamplingSettings withMaxNewTokens(int n) {
        return new SamplingSettings(temperature, topK, topP, n, stop, seed, kvCache);
    }

    public SamplingSettings withSeed(long newSeed) {
        return new SamplingSettings(temperature, topK, topP, maxNewTokens, stop, newSeed, kvCache);
    }
}
