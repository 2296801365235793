package seed.reward.eval;

import java.util.ArrayList;
import java.util.List;
import seed.reward.dpo.ResponseLogps;
import seed.stages.data.ExampleEncoder;
import seed.stages.generate.Generation;
import seed.stages.generate.Generator;
import seed.stages.generate.SamplingSettings;
import seed.stages.model.Gpt;
import seed.stages.model.NoGrad;
import seed.stages.tokenizer.Tokenizer;

/**
 * KL(policy || reference) per response, measured the way the RL stage measures it: one response sampled from the
 * policy at T = 1 per prompt, the sum over its tokens of log p_policy - log p_reference. One number that DPO, the RL
 * methods and the evaluation all report alike, so their KLs can be compared.
 */
public final class PolicyKl {

    private static final int GROUPS_PER_CHUNK = 16;

    private PolicyKl() {
    }

    /** Mean KL per response over {@code prompts} (token ids, already framed); 0 when nothing was generated. */
    public static double measure(Gpt policy, Gpt reference, Tokenizer tokenizer, List<int[]> prompts,
            int maxNewTokens, long seed) {
        return measure(policy, reference, sample(policy, tokenizer, prompts, maxNewTokens, seed));
    }

    /** One response per prompt sampled at T = 1 from {@code model}, in chunks, seeded per chunk. */
    public static List<Generation> sample(Gpt model, Tokenizer tokenizer, List<int[]> prompts, int maxNewTokens,
            long seed) {
        SamplingSettings sampling = new SamplingSettings(1.0f, 0, 1.0f, maxNewTokens, List.of(), seed, true);
        List<Generation> gens = new ArrayList<>();
        try (NoGrad ignored = NoGrad.enter()) {
            Generator generator = new Generator(model, tokenizer);
            for (int i = 0; i < prompts.size(); i += GROUPS_PER_CHUNK) {
                gens.addAll(generator.generate(prompts.subList(i, Math.min(prompts.size(), i + GROUPS_PER_CHUNK)),
                        sampling.withSeed(seed + i)));
            }
        }
        return gens;
    }

    /** Mean over {@code gens} (sampled from {@code policy}) of log p_policy - log p_reference of the response. */
    public static double measure(Gpt policy, Gpt reference, List<Generation> gens) {
        List<List<ExampleEncoder.Encoded>> seqs = new ArrayList<>();
        for (Generation g : gens) {
            int[] p = g.promptTokens();
            int[] r = g.tokens();
            if (r.length == 0) {
                continue;
            }
            int[] ids = new int[p.length + r.length];
            System.arraycopy(p, 0, ids, 0, p.length);
            System.arraycopy(r, 0, ids, p.length, r.length);
            seqs.add(List.of(new ExampleEncoder.Encoded(ids, p.length, g.endedWithEndToken())));
        }
        if (seqs.isEmpty()) {
            return 0;
        }
        float[] lp = ResponseLogps.values(policy, seqs, false, GROUPS_PER_CHUNK);
        float[] ref = ResponseLogps.values(reference, seqs, false, GROUPS_PER_CHUNK);
        double kl = 0;
        for (int i = 0; i < lp.length; i++) {
            kl += lp[i] - ref[i];
        }
        return kl / lp.length;
    }
}
