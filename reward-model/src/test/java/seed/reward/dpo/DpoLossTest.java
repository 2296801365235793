package seed.reward.dpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import seed.reward.data.Ranking;
import seed.stages.data.ExampleEncoder;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.model.NoGrad;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.data.Truncation;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * DPO's losses on a fixed batch equal TRL's formulas ({@code DPOTrainer.dpo_loss}) computed by hand here, and the
 * shared-prompt log-probabilities equal a plain per-sequence forward.
 */
class DpoLossTest {

    // four pairs: policy chosen / rejected, reference chosen / rejected (sums of token log-probabilities)
    static final float[] PC = {-10f, -4f, -7.5f, -3f};
    static final float[] PR = {-12f, -3f, -7.5f, -9f};
    static final float[] RC = {-11f, -4.5f, -7f, -5f};
    static final float[] RR = {-11.5f, -3.5f, -8f, -6f};

    private static double mean(NDManager m, DpoLoss loss, double beta, double smoothing) {
        return loss.perPair(m.create(PC), m.create(PR), m.create(RC), m.create(RR), beta, smoothing).mean().getFloat();
    }

    private static double logSigmoid(double x) {
        return -Math.log1p(Math.exp(-x));
    }

    @Test
    void lossesEqualTrlFormulasOnAFixedBatch() {
        // z = (pc - pr) - (rc - rr): (2 - 0.5) = 1.5, (-1 - -1) = 0, (0 - 1) = -1, (6 - 1) = 5
        double[] z = {1.5, 0.0, -1.0, 5.0};
        double beta = 0.1;
        double sigmoid = 0, smoothed = 0, ipo = 0, hinge = 0;
        for (double v : z) {
            sigmoid += -logSigmoid(beta * v);
            smoothed += -logSigmoid(beta * v) * (1 - 0.2) - logSigmoid(-beta * v) * 0.2;
            ipo += Math.pow(v - 1 / (2 * beta), 2);
            hinge += Math.max(0, 1 - beta * v);
        }
        // the same numbers written out: -log sigmoid(0.15) = log(1 + e^-0.15) = 0.6209570, (1.5 - 5)^2 = 12.25, relu(1 - 0.15) = 0.85
        assertEquals(0.6209570, -logSigmoid(0.15), 1e-6);
        try (NDManager m = NDManager.newBaseManager()) {
            assertEquals(sigmoid / 4, mean(m, DpoLoss.SIGMOID, beta, 0), 1e-6);
            assertEquals(smoothed / 4, mean(m, DpoLoss.SIGMOID, beta, 0.2), 1e-6);
            assertEquals(ipo / 4, mean(m, DpoLoss.IPO, beta, 0), 1e-5 * ipo / 4);
            assertEquals((12.25 + 25 + 36 + 0) / 4, mean(m, DpoLoss.IPO, beta, 0), 1e-4);
            assertEquals(hinge / 4, mean(m, DpoLoss.HINGE, beta, 0), 1e-6);
            assertEquals((0.85 + 1 + 1.1 + 0.5) / 4, mean(m, DpoLoss.HINGE, beta, 0), 1e-6);
            // the scalar form (held-out loss) agrees with the tensor form
            for (DpoLoss l : DpoLoss.values()) {
                double s = 0;
                for (int i = 0; i < 4; i++) {
                    s += l.perPair(PC[i], PR[i], RC[i], RR[i], 0.3, 0);
                }
                assertEquals(s / 4, mean(m, l, 0.3, 0), 1e-5 * Math.max(1, s / 4), l.name());
            }
        }
    }

    /**
     * Plackett-Luce on a fixed batch: a K = 4 ranking b > d > a > c (indices into responses a, b, c, d) and a K = 3
     * ranking with a tie, x > {y, z}, written out by hand with scores s = beta (logp - ref).
     */
    @Test
    void plackettLuceEqualsTheHandComputedLikelihoodAndIsTheSigmoidLossForTwo() {
        double beta = 0.5;
        float[] logp = {-10f, -4f, -7.5f, -3f, -6f, -5f, -9f};
        float[] ref = {-11f, -4.5f, -7f, -5f, -6.5f, -4f, -8f};
        // scores: 0.5, 0.25, -0.25, 1.0 | 0.25, -0.5, -0.5
        double[] s = new double[7];
        for (int i = 0; i < 7; i++) {
            s[i] = beta * (logp[i] - ref[i]);
        }
        assertEquals(1.0, s[3], 1e-12);
        // ranking 1: order b(1) > d(3) > a(0) > c(2): -log[e^sb/(e^sa+e^sb+e^sc+e^sd) * e^sd/(e^sa+e^sc+e^sd)
        //   * e^sa/(e^sa+e^sc)]
        double e0 = Math.exp(0.5), e1 = Math.exp(0.25), e2 = Math.exp(-0.25), e3 = Math.exp(1.0);
        double first = -Math.log(e1 / (e0 + e1 + e2 + e3) * e3 / (e0 + e2 + e3) * e0 / (e0 + e2));
        // ranking 2 over responses x(4), y(5), z(6): x > y = z. The tie leaves y and z unordered; x against all three,
        // the last tier adds nothing: -log[e^sx/(e^sx+e^sy+e^sz)]
        double ex = Math.exp(0.25), ey = Math.exp(-0.5);
        double second = -Math.log(ex / (ex + 2 * ey));
        // the same numbers as literals (computed once with a calculator from the formulas above)
        assertEquals(2.6360006, first, 1e-6);
        assertEquals(0.6651247, second, 1e-6); // = log(1 + 2 e^-0.75)

        Ranking four = new Ranking("p", List.of("a", "b", "c", "d"), new int[] {1, 3, 0, 2}, List.of(), 1);
        Ranking tied = new Ranking("q", List.of("x", "y", "z"), new int[] {0, 1, 2}, List.of(new int[] {2, 1}), 2);
        List<PlackettLuce.Term> terms = new ArrayList<>(PlackettLuce.terms(PlackettLuce.tiers(four, List.of("a", "b", "c", "d"))));
        for (PlackettLuce.Term t : PlackettLuce.terms(PlackettLuce.tiers(tied, List.of("x", "y", "z")))) {
            terms.add(new PlackettLuce.Term(t.chosen() + 4, java.util.Arrays.stream(t.among()).map(j -> j + 4).toArray()));
        }
        assertEquals(4, terms.size(), "3 factors of the K = 4 ranking, 1 of the tied one");
        assertEquals(first + second, PlackettLuce.loss(s, terms), 1e-6);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray scores = m.create(logp).sub(m.create(ref)).mul((float) beta);
            assertEquals(first + second, PlackettLuce.loss(m, scores, terms).getFloat(), 1e-6);

            // K = 2: the ranking's likelihood is the sigmoid loss of its pair, on the fixed batch of the TRL test
            for (int i = 0; i < PC.length; i++) {
                Ranking pair = Ranking.pairwise("p", "c", "r", 1);
                List<PlackettLuce.Term> t = PlackettLuce.terms(PlackettLuce.tiers(pair, List.of("c", "r")));
                NDArray sc = m.create(new float[] {PC[i] - RC[i], PR[i] - RR[i]}).mul(0.1f);
                double sigmoid = DpoLoss.SIGMOID.perPair(PC[i], PR[i], RC[i], RR[i], 0.1, 0);
                assertEquals(sigmoid, PlackettLuce.loss(m, sc, t).getFloat(), 1e-6, "pair " + i);
                assertEquals(sigmoid, PlackettLuce.loss(new double[] {0.1 * (PC[i] - RC[i]), 0.1 * (PR[i] - RR[i])}, t),
                        1e-9, "pair " + i);
            }
        }
        // a fully tied ranking adds nothing, as it adds no pair
        Ranking allTied = new Ranking("q", List.of("x", "y"), new int[] {0, 1}, List.<int[]>of(new int[] {0, 1}), 3);
        assertEquals(0, PlackettLuce.terms(PlackettLuce.tiers(allTied, List.of("x", "y"))).size());
        // a tie between ranks 1 and 3 ties rank 2 too (a weak order): one tier of three above the last response
        Ranking span = new Ranking("q", List.of("a", "b", "c", "d"), new int[] {0, 1, 2, 3},
                List.<int[]>of(new int[] {0, 2}), 4);
        List<int[]> tiers = PlackettLuce.tiers(span, List.of("a", "b", "c", "d"));
        assertEquals(2, tiers.size());
        assertEquals(3, tiers.get(0).length);
    }

    @Test
    void plackettLuceGradientMatchesTheHandDerivative() {
        // d/ds_j of -log softmax_chosen over a set = softmax_j - [j == chosen]
        float[] scores = {0.3f, -0.2f, 1.1f};
        List<PlackettLuce.Term> terms = List.of(new PlackettLuce.Term(0, new int[] {0, 1, 2}));
        try (NDManager m = NDManager.newBaseManager();
             ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
            NDArray s = m.create(scores);
            s.setRequiresGradient(true);
            gc.backward(PlackettLuce.loss(m, s, terms));
            float[] g = s.getGradient().toFloatArray();
            double z = Math.exp(0.3) + Math.exp(-0.2) + Math.exp(1.1);
            assertEquals(Math.exp(0.3) / z - 1, g[0], 1e-6);
            assertEquals(Math.exp(-0.2) / z, g[1], 1e-6);
            assertEquals(Math.exp(1.1) / z, g[2], 1e-6);
        }
    }

    @Test
    void sharedPromptLogProbabilitiesEqualThePerSequenceForward() {
        ByteTokenizer tokenizer = new ByteTokenizer();
        // context 44: the first group's padded prompt plus the second group's long response do not fit together,
        // so the batch is split into halves (the result must not change)
        ExampleEncoder encoder = new ExampleEncoder(tokenizer, Truncation.strict(), 44);
        String[] prompts = {"What is 2 plus 2?", "Hi"};
        String[][] responses = {{"4.", "Sure! 2 plus 2 is 4.", "Sure! five"}, {"Hello", "Hello there, how are you today?"}};
        List<ExampleEncoder.Encoded> seqs = new ArrayList<>();
        for (int g = 0; g < 2; g++) {
            seqs.addAll(encoder.group(prompts[g], List.of(responses[g]), "test"));
        }
        try (Gpt model = Gpt.initialize(new GptConfig(tokenizer.vocabSize(), 48, 2, 44, 4), 3);
             NoGrad ignored = NoGrad.enter();
             NDManager m = NDManager.newBaseManager()) {
            float[] grouped = ResponseLogps.of(m, model, seqs, new int[] {3, 2}, false).toFloatArray();
            float[] mean = ResponseLogps.of(m, model, seqs, new int[] {3, 2}, true).toFloatArray();
            for (int i = 0; i < seqs.size(); i++) {
                ExampleEncoder.Encoded e = seqs.get(i);
                long[] ids = new long[e.ids().length];
                for (int t = 0; t < ids.length; t++) {
                    ids[t] = e.ids()[t];
                }
                NDArray logProbs = model.forward(m.create(ids, new ai.djl.ndarray.types.Shape(1, ids.length)))
                        .logSoftmax(-1);
                float[] lp = logProbs.toFloatArray();
                int v = tokenizer.vocabSize();
                double sum = 0;
                for (int t = e.promptLength(); t < ids.length; t++) {
                    sum += lp[(t - 1) * v + e.ids()[t]];
                }
                assertEquals(sum, grouped[i], 1e-4, "sequence " + i);
                assertEquals(sum / (ids.length - e.promptLength()), mean[i], 1e-5, "mean, sequence " + i);
            }
        }
    }
}
