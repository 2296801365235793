package seed.reward.dpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
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
