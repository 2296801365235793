package seed.reward.dpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import seed.stages.data.ExampleEncoder;
import seed.stages.model.Gpt;
import seed.stages.model.KvCache;
import seed.stages.model.NoGrad;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Log-probability of each response given its prompt (summed, or averaged over the response's tokens), for groups of
 * responses that share a prompt. The prompt is computed once per group: the group's common prefix, capped so the
 * position that predicts the first response token stays out of it, runs once into a KV cache; each response's row of
 * the cache is a differentiable view of it and the responses run on top (the reward model's shared-prefix path,
 * {@code RewardModel.groupedRawScores}). Gradients flow through both, so training uses it as well.
 */
public final class ResponseLogps {

    private ResponseLogps() {
    }

    /**
     * (N,) log-probabilities of the sequences' response tokens (positions {@code promptLength..} of each, the end token
     * included when present), in {@code manager}. {@code groupSizes} cut {@code sequences} into consecutive groups
     * sharing one prompt.
     */
    static NDArray of(NDManager manager, Gpt model, List<ExampleEncoder.Encoded> sequences, int[] groupSizes,
            boolean mean) {
        int groups = groupSizes.length;
        int[] groupOf = new int[sequences.size()];
        int[] shared = new int[groups];
        int longestPrefix = 0;
        for (int g = 0, start = 0; g < groups; start += groupSizes[g], g++) {
            int[] first = sequences.get(start).ids();
            int common = first.length;
            for (int i = start; i < start + groupSizes[g]; i++) {
                ExampleEncoder.Encoded e = sequences.get(i);
                int k = 0;
                // the prefix ends before the position predicting the first response token
                int cap = Math.min(common, e.promptLength() - 1);
                while (k < cap && e.ids()[k] == first[k]) {
                    k++;
                }
                common = k;
                groupOf[i] = g;
            }
            shared[g] = common;
            longestPrefix = Math.max(longestPrefix, common);
        }
        if (Arrays.stream(groupSizes).sum() != sequences.size()) {
            throw new IllegalArgumentException(sequences.size() + " sequences but groups of " + Arrays.toString(groupSizes));
        }
        int n = sequences.size();
        int longestRest = 1;
        for (int i = 0; i < n; i++) {
            longestRest = Math.max(longestRest, sequences.get(i).ids().length - shared[groupOf[i]]);
        }
        if (groups > 1 && longestPrefix + longestRest > model.config().context()) {
            // padded prefixes plus padded rests would not fit the context (one group always fits: its own length);
            // halve the groups until they do, and join the halves (concatenation keeps the gradients)
            int half = groups / 2;
            int firstRows = Arrays.stream(groupSizes, 0, half).sum();
            NDArray a = of(manager, model, sequences.subList(0, firstRows), Arrays.copyOfRange(groupSizes, 0, half), mean);
            NDArray b = of(manager, model, sequences.subList(firstRows, n), Arrays.copyOfRange(groupSizes, half, groups),
                    mean);
            return a.concat(b);
        }
        KvCache prefixes = model.newCache(manager, groups);
        if (longestPrefix > 0) {
            List<int[]> heads = new ArrayList<>();
            for (int g = 0, start = 0; g < groups; start += groupSizes[g], g++) {
                heads.add(Arrays.copyOf(sequences.get(start).ids(), shared[g]));
            }
            NDArray[] ids = seed.reward.RewardModel.leftPadded(manager, heads, longestPrefix);
            model.hidden(ids[0], ids[1], prefixes);
        }
        List<int[]> rests = new ArrayList<>(n);
        int l1 = longestRest - 1;
        long[] targets = new long[n * l1];
        float[] mask = new float[n * l1];
        for (int i = 0; i < n; i++) {
            ExampleEncoder.Encoded e = sequences.get(i);
            int from = shared[groupOf[i]];
            int[] rest = Arrays.copyOfRange(e.ids(), from, e.ids().length);
            rests.add(rest);
            int pad = longestRest - rest.length;
            // rest position j predicts rest token j + 1, i.e. absolute token from + j + 1
            for (int j = 0; j + 1 < rest.length; j++) {
                int at = i * l1 + pad + j;
                targets[at] = rest[j + 1];
                mask[at] = from + j + 1 >= e.promptLength() ? 1f : 0f;
            }
        }
        NDArray[] ids = seed.reward.RewardModel.leftPadded(manager, rests, longestRest);
        NDArray hidden = model.hidden(ids[0], ids[1], prefixes.select(manager, groupOf)).get(new NDIndex(":, :-1, :"));
        NDArray logProbs = model.logits(hidden).logSoftmax(-1);
        Shape shape = new Shape(n, l1);
        NDArray logp = logProbs.gather(manager.create(targets, shape).expandDims(-1), -1).squeeze(-1);
        NDArray m = manager.create(mask, shape);
        NDArray sum = logp.mul(m).sum(new int[] {1});
        return mean ? sum.div(m.sum(new int[] {1}).maximum(1f)) : sum;
    }

    /** As {@link #of} without recording gradients, in chunks of whole groups, as floats. */
    public static float[] values(Gpt model, List<List<ExampleEncoder.Encoded>> groups, boolean mean, int groupsPerChunk) {
        List<Float> out = new ArrayList<>();
        try (NoGrad ignored = NoGrad.enter()) {
            for (int g = 0; g < groups.size(); g += groupsPerChunk) {
                List<List<ExampleEncoder.Encoded>> chunk = groups.subList(g, Math.min(groups.size(), g + groupsPerChunk));
                List<ExampleEncoder.Encoded> seqs = new ArrayList<>();
                int[] sizes = new int[chunk.size()];
                for (int i = 0; i < chunk.size(); i++) {
                    seqs.addAll(chunk.get(i));
                    sizes[i] = chunk.get(i).size();
                }
                try (NDManager m = NDManager.newBaseManager(model.device())) {
                    for (float v : of(m, model, seqs, sizes, mean).toFloatArray()) {
                        out.add(v);
                    }
                }
            }
        }
        float[] a = new float[out.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = out.get(i);
        }
        return a;
    }
}
