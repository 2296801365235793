package seed.stages.rlhf;

import seed.stages.tokenizer.Tokenizer;

import java.util.List;

/**
 * What the RL trainer knows of a reward: a batched score for (prompt, response) pairs. The reward model in
 * module {@code reward-model} implements it, so {@code stages} never depends on the reward model's code, and
 * a test or a program-defined reward can be plugged in the same way.
 */
public interface RewardFunction extends AutoCloseable {

    /** One scored sample: the texts and the token ids the policy saw and produced (response without the end token). */
    record Sample(String prompt, String response, int[] promptTokens, int[] responseTokens, boolean ended) {
    }

    /** One reward per sample, same order; higher is better. Normalised scores (mean 0, std 1 on a reference set) are expected. */
    float[] score(List<Sample> samples);

    /**
     * Fails with a clear message when this reward cannot judge the policy's outputs, e.g. a reward model with
     * another tokenizer or vocabulary, or a context too short for the policy's prompts plus responses.
     *
     * @param policyTokenizer the policy's tokenizer (kind, vocabulary and encodings are compared)
     * @param maxTokens the longest prompt + response the policy will produce
     */
    void checkCompatible(Tokenizer policyTokenizer, int maxTokens);

    @Override
    default void close() {
    }
}
