package seed.stages.rlhf;

import seed.stages.demo.PoliteCorrectRule;
import seed.stages.tokenizer.Tokenizer;

import java.util.List;

/**
 * A program-defined reward for the stages' own PPO tests: the synthetic rule's score, centred. It needs no tokenizer,
 * so it is compatible with every policy. (The learned reward model is exercised in module reward-model's tests.)
 */
final class RuleReward implements RewardFunction {

    @Override
    public float[] score(List<Sample> samples) {
        float[] out = new float[samples.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (PoliteCorrectRule.score(samples.get(i).prompt(), samples.get(i).response()) - 2f) / 1.5f;
        }
        return out;
    }

    @Override
    public void checkCompatible(Tokenizer policyTokenizer, int maxTokens) {
        // a rule on text fits every tokenizer and length
    }
}
