package seed.reward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import seed.stages.checkpoint.HostTensor;
import seed.stages.data.ChatFormat;
import seed.stages.data.ChatTemplate;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.model.KvCache;
import seed.stages.model.NoGrad;
import seed.stages.rlhf.RewardFunction;
import seed.stages.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The reward model: a transformer backbone (initialised from an SFT checkpoint) with a scalar head read at the last
 * token of {@code [prompt] prompt [response] response [end]} (optionally also the backbone's log-probability of the
 * response, {@link Readout#END_LOGPROB}). Sequences are left-padded so that last token is always
 * the final position. Scores are normalised with the mean/std measured over a reference set when training ends,
 * so the RL stage sees rewards of mean 0, std 1 on the reward model's own data.
 *
 * <p>Implements {@link RewardFunction}, the only view the RL trainer in {@code stages} has of it.
 */
public final class RewardModel implements RewardFunction {

    /** Scoring batch size: large enough to amortise per-op overhead, small enough for memory at any context. */
    private static final int SCORE_BATCH = 64;

    private final Gpt backbone;
    private final Tokenizer tokenizer;
    /** How prompts and responses are framed (Seed's markers or the tokenizer's chat template), as in SFT. */
    private final ChatFormat format;
    /** The head's arrays, on the backbone's device (every score is computed there). */
    private final NDManager headManager;
    private final NDArray headWeight;
    private final NDArray headBias;
    private float mean;
    private float std = 1f;
    /**
     * Weights of the log-probability read-out (min and mean over the response's tokens, see {@link Readout}), or
     * null for the end-token read-out alone.
     */
    private NDArray logProbWeight;
    /**
     * The safety head (Llama 2's safety reward model as a second head on the same backbone): a logistic classifier of
     * the annotators' unsafe flag read at the end token, or null without one. {@link #safetyFloor}: the normalised
     * score of a surely unsafe answer, below every safe training response (the snapshot's order: unsafe last).
     */
    private NDArray safetyWeight;
    private NDArray safetyBias;
    private float safetyFloor;

    /** One forward pass's reward-head scores (B) and, with a safety head, its unsafe logits (B; else null). */
    public record Heads(NDArray scores, NDArray unsafeLogits) {
    }

    /**
     * What the scalar head reads. {@code END}: a linear head on the final hidden state of the end token (InstructGPT).
     * {@code END_LOGPROB}: that, plus two learned weights on the backbone's own log-probability of the response's
     * tokens (their minimum and their mean, each token given what precedes it, through the backbone's LM head). Why:
     * a response that contradicts what the SFT model would say (a wrong sum: "8." after "What is 3 plus 4?") holds a
     * token the model finds unlikely, a signal the end token alone learned only partly from a few hundred rankings
     * (held-out 0.76-0.85 -> 0.93-0.94 on the correctness-first rule at the tests' size; reward-model/README.md).
     */
    public enum Readout {
        END, END_LOGPROB;

        /** Parses {@code end|end-logprob} (the command line's spelling). */
        public static Readout parse(String name) {
            return switch (name) {
                case "end" -> END;
                case "end-logprob" -> END_LOGPROB;
                default -> throw new IllegalArgumentException("--readout must be 'end' or 'end-logprob', got '" + name + "'");
            };
        }
    }

    /** Where the backbone and the head live; step managers are made on it. */
    public ai.djl.Device device() {
        return backbone.device();
    }

    RewardModel(Gpt backbone, Tokenizer tokenizer, HostTensor weight, HostTensor bias) {
        this.backbone = backbone;
        this.tokenizer = tokenizer;
        this.format = ChatFormat.of(tokenizer);
        this.headManager = NDManager.newBaseManager(backbone.device());
        if (tokenizer.vocabSize() != backbone.config().vocabSize()) {
            throw new IllegalArgumentException("tokenizer has " + tokenizer.vocabSize() + " ids but the model's vocabulary is "
                    + backbone.config().vocabSize());
        }
        this.headWeight = Gpt.torchOwned(headManager.create(weight.data(), new Shape(weight.shape())));
        this.headBias = Gpt.torchOwned(headManager.create(bias.data(), new Shape(bias.shape())));
        headWeight.setRequiresGradient(true);
        headBias.setRequiresGradient(true);
    }

    /** A fresh scalar head (zeros, so every response starts at reward 0) on top of {@code backbone}. */
    public static RewardModel withFreshHead(Gpt backbone, Tokenizer tokenizer) {
        return withFreshHead(backbone, tokenizer, Readout.END);
    }

    /** As above, reading what {@code readout} says (the log-probability weights start at zero too). */
    public static RewardModel withFreshHead(Gpt backbone, Tokenizer tokenizer, Readout readout) {
        int d = backbone.config().dModel();
        RewardModel model = new RewardModel(backbone, tokenizer, new HostTensor(new long[] {1, d}, new float[d]),
                new HostTensor(new long[] {1}, new float[1]));
        if (readout == Readout.END_LOGPROB) {
            model.readLogProbs(new HostTensor(new long[] {2}, new float[2]));
        }
        return model;
    }

    /** Adds the log-probability read-out with these weights (min, mean): fresh, or as saved. */
    void readLogProbs(HostTensor weights) {
        logProbWeight = Gpt.torchOwned(headManager.create(weights.data(), new Shape(weights.shape())));
        logProbWeight.setRequiresGradient(true);
    }

    /** Adds the safety head with these weights (1, d) and bias (1): fresh (zeros) to train, or as saved. */
    void addSafetyHead(HostTensor weight, HostTensor bias) {
        safetyWeight = Gpt.torchOwned(headManager.create(weight.data(), new Shape(weight.shape())));
        safetyBias = Gpt.torchOwned(headManager.create(bias.data(), new Shape(bias.shape())));
        safetyWeight.setRequiresGradient(true);
        safetyBias.setRequiresGradient(true);
    }

    /** A fresh safety head (zeros: every response starts at P(unsafe) = 0.5) to train beside the reward head. */
    public void addFreshSafetyHead() {
        int d = backbone.config().dModel();
        addSafetyHead(new HostTensor(new long[] {1, d}, new float[d]), new HostTensor(new long[] {1}, new float[1]));
    }

    public boolean hasSafetyHead() {
        return safetyWeight != null;
    }

    public float safetyFloor() {
        return safetyFloor;
    }

    void setSafetyFloor(float floor) {
        this.safetyFloor = floor;
    }

    public Readout readout() {
        return logProbWeight == null ? Readout.END : Readout.END_LOGPROB;
    }

    public GptConfig config() {
        return backbone.config();
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    Gpt backbone() {
        return backbone;
    }

    /** Every trainable parameter: the backbone's and the head's ("reward_head.weight", "reward_head.bias"). */
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> all = new LinkedHashMap<>(backbone.parameters());
        all.put("reward_head.weight", headWeight);
        all.put("reward_head.bias", headBias);
        if (logProbWeight != null) {
            all.put("reward_head.logprob", logProbWeight);
        }
        if (safetyWeight != null) {
            all.put("safety_head.weight", safetyWeight);
            all.put("safety_head.bias", safetyBias);
        }
        return all;
    }

    /** {@link #weights()} with the backbone's LoRA adapters folded in (the final model folder's form). */
    public Map<String, HostTensor> mergedWeights() {
        Map<String, HostTensor> w = weights();
        Map<String, HostTensor> merged = new LinkedHashMap<>(backbone.mergedWeights());
        w.forEach((k, v) -> {
            if (k.startsWith("reward_head.") || k.startsWith("safety_head.")) {
                merged.put(k, v);
            }
        });
        return merged;
    }

    /** All weights in Java memory (backbone + head), as saved in model.safetensors. */
    public Map<String, HostTensor> weights() {
        Map<String, HostTensor> w = new LinkedHashMap<>(backbone.weights());
        w.put("reward_head.weight", new HostTensor(headWeight.getShape().getShape(), headWeight.toFloatArray()));
        w.put("reward_head.bias", new HostTensor(headBias.getShape().getShape(), headBias.toFloatArray()));
        if (logProbWeight != null) {
            w.put("reward_head.logprob", new HostTensor(logProbWeight.getShape().getShape(), logProbWeight.toFloatArray()));
        }
        if (safetyWeight != null) {
            w.put("safety_head.weight", new HostTensor(safetyWeight.getShape().getShape(), safetyWeight.toFloatArray()));
            w.put("safety_head.bias", new HostTensor(safetyBias.getShape().getShape(), safetyBias.toFloatArray()));
        }
        return w;
    }

    /**
     * Makes every parameter (backbone and head) require no gradient: a reward model used to score, as the RL stage
     * does, then cannot take part in any backward pass. {@link RewardModelFiles#load} returns frozen models.
     */
    public RewardModel frozen() {
        parameters().values().forEach(p -> p.setRequiresGradient(false));
        return this;
    }

    public float normMean() {
        return mean;
    }

    public float normStd() {
        return std;
    }

    void setNormalisation(float mean, float std) {
        this.mean = mean;
        this.std = std > 1e-6f ? std : 1f;
    }

    /** A plain prompt (one user message) and a response; see {@link #encode(List, String)}. */
    public int[] encode(String prompt, String response) {
        return encode(ChatFormat.userTurn(prompt), response);
    }

    /**
     * The framed sequence the model scores, {@code [prompt] prompt [response] response [end]} with Seed's tokenizers
     * or the chat template's prompt, response and turn end; cut from the left to the context if longer.
     */
    public int[] encode(List<ChatTemplate.Message> conversation, String response) {
        int[] p = format.prompt(conversation).ids();
        ChatFormat.ResponseIds r = format.response(conversation, response);
        int[] seq = Arrays.copyOf(p, p.length + r.text().length + r.end().length);
        System.arraycopy(r.text(), 0, seq, p.length, r.text().length);
        System.arraycopy(r.end(), 0, seq, p.length + r.text().length, r.end().length);
        int ctx = backbone.config().context();
        return seq.length <= ctx ? seq : Arrays.copyOfRange(seq, seq.length - ctx, seq.length);
    }

    /**
     * Raw (unnormalised) scores (B) for token sequences, in {@code manager}; records a graph when grad mode is on.
     * Sequences are left-padded to the longest, so position T-1 is every sequence's end token.
     */
    public NDArray rawScores(NDManager manager, List<int[]> sequences) {
        return heads(manager, sequences).scores();
    }

    /** As {@link #rawScores(NDManager, List)}, with the safety head's unsafe logits of the same pass. */
    public Heads heads(NDManager manager, List<int[]> sequences) {
        int batch = sequences.size();
        int length = sequences.stream().mapToInt(s -> s.length).max().orElse(1);
        int[] ids = new int[batch * length];
        float[] mask = new float[batch * length];
        for (int b = 0; b < batch; b++) {
            int[] s = sequences.get(b);
            int pad = length - s.length;
            for (int t = 0; t < s.length; t++) {
                ids[b * length + pad + t] = s[t];
                mask[b * length + pad + t] = 1f;
            }
        }
        NDArray tokens = manager.create(ids, new Shape(batch, length)).toType(DataType.INT64, false);
        NDArray maskArray = manager.create(mask, new Shape(batch, length));
        NDArray hidden = backbone.hidden(tokens, maskArray);
        NDArray last = hidden.get(new NDIndex(":, -1, :"));
        // last is the first operand so every result lands in the caller's manager, not the head's
        NDArray score = last.mul(headWeight).sum(new int[] {1}).add(headBias);
        return new Heads(logProbWeight == null ? score : score.add(logProbTerm(manager, hidden, sequences, ids, length)),
                unsafeLogits(last));
    }

    /** The safety head on the end token's hidden states (B, d), or null without one. */
    private NDArray unsafeLogits(NDArray last) {
        return safetyWeight == null ? null : last.mul(safetyWeight).sum(new int[] {1}).add(safetyBias);
    }

    /**
     * The log-probability read-out of {@link Readout#END_LOGPROB} for left-padded {@code ids} (B, length) and their
     * final hidden states: w_min * min_t log p(token_t | before) + w_mean * mean_t log p(...), over the response's
     * tokens (after the {@code <response>} token; the end token included). Differentiable, like the rest of the score.
     */
    private NDArray logProbTerm(NDManager manager, NDArray hidden, List<int[]> sequences, int[] ids, int length) {
        int batch = sequences.size();
        int steps = length - 1;
        float[] response = new float[batch * steps];
        long[] next = new long[batch * steps];
        for (int b = 0; b < batch; b++) {
            int[] s = sequences.get(b);
            int pad = length - s.length;
            int start = format.responseStart(s);
            for (int t = 0; t < steps; t++) {
                next[b * steps + t] = ids[b * length + t + 1];
                response[b * steps + t] = t + 1 - pad >= start ? 1f : 0f; // the token predicted at t is a response token
            }
        }
        NDArray logits = backbone.logits(hidden.get(new NDIndex(":, :-1, :")));
        NDArray logp = logits.logSoftmax(-1).gather(manager.create(next, new Shape(batch, steps, 1)), -1).squeeze(-1);
        NDArray mask = manager.create(response, new Shape(batch, steps));
        NDArray masked = logp.mul(mask);
        NDArray mean = masked.sum(new int[] {1}).div(mask.sum(new int[] {1}).maximum(1f));
        NDArray min = masked.add(mask.neg().add(1f).mul(1e4f)).min(new int[] {1}); // other positions never the minimum
        NDArray features = NDArrays.stack(new ai.djl.ndarray.NDList(min, mean), 1);
        return features.mul(logProbWeight).sum(new int[] {1});
    }

    /**
     * The same raw scores as {@link #rawScores(NDManager, List)} for {@code sequences} that come in groups of
     * {@code groupSizes[g]} consecutive sequences sharing a prompt, computing each group's shared prefix once: the
     * prefixes run as one batch into a KV cache, each response's row of the cache is a (differentiable) view of its
     * group's row, and the responses run on top of it. Gradients flow through both parts, so for training this is
     * the per-sequence loss at a fraction of the cost when prompts are long (K responses: the prompt once, not K
     * times). The shared prefix is the longest common token prefix of the group (so sequences cut from the left to
     * the context share less, or nothing, and still score exactly), leaving each response at least one own token.
     */
    public NDArray groupedRawScores(NDManager manager, List<int[]> sequences, int[] groupSizes) {
        return groupedHeads(manager, sequences, groupSizes).scores();
    }

    /** As {@link #groupedRawScores}, with the safety head's unsafe logits of the same pass. */
    public Heads groupedHeads(NDManager manager, List<int[]> sequences, int[] groupSizes) {
        if (logProbWeight != null) {
            // the log-probability read-out needs every response token's predicting position, some of which the shared
            // prefix holds: score each sequence whole (the same numbers; only the prefix sharing is given up)
            return heads(manager, sequences);
        }
        int groups = groupSizes.length;
        int[] groupOf = new int[sequences.size()];
        int[] shared = new int[groups];
        int longestPrefix = 0;
        int longestRest = 1;
        for (int g = 0, start = 0; g < groups; start += groupSizes[g], g++) {
            int[] first = sequences.get(start);
            int common = first.length - 1;
            for (int i = start; i < start + groupSizes[g]; i++) {
                int[] s = sequences.get(i);
                int k = 0;
                while (k < common && k < s.length - 1 && s[k] == first[k]) {
                    k++;
                }
                common = k;
                groupOf[i] = g;
            }
            shared[g] = Math.max(common, 0);
            longestPrefix = Math.max(longestPrefix, shared[g]);
            for (int i = start; i < start + groupSizes[g]; i++) {
                longestRest = Math.max(longestRest, sequences.get(i).length - shared[g]);
            }
        }
        if (groupOf.length != Arrays.stream(groupSizes).sum()) {
            throw new IllegalArgumentException(sequences.size() + " sequences but groups of " + Arrays.toString(groupSizes));
        }
        KvCache prefixes = backbone.newCache(manager, groups);
        if (longestPrefix > 0) {
            List<int[]> heads = new ArrayList<>();
            for (int g = 0, start = 0; g < groups; start += groupSizes[g], g++) {
                heads.add(Arrays.copyOf(sequences.get(start), shared[g]));
            }
            NDArray[] ids = leftPadded(manager, heads, longestPrefix);
            backbone.hidden(ids[0], ids[1], prefixes);
        }
        List<int[]> rests = new ArrayList<>();
        for (int i = 0; i < sequences.size(); i++) {
            int[] s = sequences.get(i);
            rests.add(Arrays.copyOfRange(s, shared[groupOf[i]], s.length));
        }
        NDArray[] ids = leftPadded(manager, rests, longestRest);
        NDArray hidden = backbone.hidden(ids[0], ids[1], prefixes.select(manager, groupOf));
        NDArray last = hidden.get(new NDIndex(":, -1, :"));
        return new Heads(last.mul(headWeight).sum(new int[] {1}).add(headBias), unsafeLogits(last));
    }

    /**
     * Token ids (B, length) int64 and mask (B, length) float, left-padded: padding first, then the tokens. Shared
     * with DPO's log-probabilities, which batch responses the same way.
     */
    public static NDArray[] leftPadded(NDManager manager, List<int[]> sequences, int length) {
        int batch = sequences.size();
        long[] ids = new long[batch * length];
        float[] mask = new float[batch * length];
        for (int b = 0; b < batch; b++) {
            int[] s = sequences.get(b);
            int pad = length - s.length;
            for (int t = 0; t < s.length; t++) {
                ids[b * length + pad + t] = s[t];
                mask[b * length + pad + t] = 1f;
            }
        }
        Shape shape = new Shape(batch, length);
        return new NDArray[] {manager.create(ids, shape), manager.create(mask, shape)};
    }

    /** Raw scores as floats, without gradients, in batches. */
    public float[] rawScores(List<int[]> sequences) {
        return rawHeads(sequences)[0];
    }

    /**
     * Raw reward-head scores and the safety head's P(unsafe) (all 0 without a safety head) as floats, without
     * gradients, in batches.
     */
    public float[][] rawHeads(List<int[]> sequences) {
        float[] out = new float[sequences.size()];
        float[] unsafe = new float[sequences.size()];
        try (NoGrad ignored = NoGrad.enter()) {
            for (int i = 0; i < sequences.size(); i += SCORE_BATCH) {
                List<int[]> chunk = sequences.subList(i, Math.min(sequences.size(), i + SCORE_BATCH));
                try (NDManager m = NDManager.newBaseManager(device())) {
                    Heads h = heads(m, chunk);
                    System.arraycopy(h.scores().toFloatArray(), 0, out, i, chunk.size());
                    if (h.unsafeLogits() != null) {
                        float[] logits = h.unsafeLogits().toFloatArray();
                        for (int j = 0; j < logits.length; j++) {
                            unsafe[i + j] = (float) (1 / (1 + Math.exp(-logits[j])));
                        }
                    }
                }
            }
        }
        return new float[][] {out, unsafe};
    }

    /**
     * The scores the RL stage and the judge see: the reward head's, normalised (mean 0, std 1 on the reference set),
     * and with a safety head Llama 2's combination of helpfulness and safety (the safety score where the safety model
     * finds the answer unsafe, helpfulness elsewhere) as a soft gate by its probability p of unsafe:
     * {@code (1 - p) * helpfulness + p * safetyFloor}, so a surely unsafe answer scores below every safe one whatever
     * its helpfulness, and a borderline one in between.
     */
    public float[] normalisedScores(List<int[]> sequences) {
        float[][] h = rawHeads(sequences);
        float[] out = h[0];
        for (int i = 0; i < out.length; i++) {
            out[i] = (out[i] - mean) / std;
            if (safetyWeight != null) {
                out[i] = (1 - h[1][i]) * out[i] + h[1][i] * safetyFloor;
            }
        }
        return out;
    }

    /** Normalised scores for (prompt, response) texts: the batched scoring API. */
    public float[] score(List<String> prompts, List<String> responses) {
        if (prompts.size() != responses.size()) {
            throw new IllegalArgumentException(prompts.size() + " prompts but " + responses.size() + " responses");
        }
        List<int[]> seqs = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            seqs.add(encode(prompts.get(i), responses.get(i)));
        }
        return normalisedScores(seqs);
    }

    /**
     * Scores the policy's own token sequences (its framed, possibly truncated prompt, then the response and the end
     * token), so the reward model judges exactly what the policy saw; {@link #checkCompatible} has made sure both
     * tokenizers encode alike. A sequence longer than the context falls back to {@link #encode}.
     */
    @Override
    public float[] score(List<Sample> samples) {
        List<int[]> seqs = new ArrayList<>(samples.size());
        for (Sample s : samples) {
            int[] p = s.promptTokens();
            int[] r = s.responseTokens();
            int[] end = format.endOfTurn();
            int[] ids = Arrays.copyOf(p, p.length + r.length + end.length);
            System.arraycopy(r, 0, ids, p.length, r.length);
            System.arraycopy(end, 0, ids, p.length + r.length, end.length);
            seqs.add(ids.length <= backbone.config().context() ? ids : encode(s.prompt(), s.response()));
        }
        return normalisedScores(seqs);
    }

    @Override
    public void checkCompatible(Tokenizer policyTokenizer, int maxTokens) {
        if (!policyTokenizer.kind().equals(tokenizer.kind()) || policyTokenizer.vocabSize() != tokenizer.vocabSize()) {
            throw new IllegalArgumentException("reward model tokenizer (" + tokenizer.kind() + ", " + tokenizer.vocabSize()
                    + " ids) does not match the policy's (" + policyTokenizer.kind() + ", " + policyTokenizer.vocabSize() + " ids)");
        }
        String probe = "Sure! What is 12 plus 30? The answer, politely: 42.";
        if (!Arrays.equals(policyTokenizer.encode(probe), tokenizer.encode(probe))) {
            throw new IllegalArgumentException("reward model tokenizer encodes text differently from the policy's (same kind "
                    + tokenizer.kind() + " and size, different vocabulary)");
        }
        if (maxTokens > backbone.config().context()) {
            throw new IllegalArgumentException("the policy produces up to " + maxTokens + " tokens (prompt + response) but the "
                    + "reward model's context is " + backbone.config().context());
        }
    }

    @Override
    public void close() {
        headManager.close();
        backbone.close();
    }
}
