package seed.stages.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The fused AdamW step against Seed's AdamW update written out in plain Java (double precision): decoupled decay on
 * matrices only, bias-corrected moments, global-norm clipping, and parameters the loss does not reach left alone.
 */
class AdamWTest {

    private static final float LR = 0.05f;
    private static final float DECAY = 0.1f;
    /** Large enough that where eps sits in the bias correction changes the result beyond the tolerance. */
    private static final float EPS = 0.1f;

    @Test
    void threeStepsMatchTheAdamWUpdateWithClippingAndDecay() {
        float[] w0 = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f};
        float[] b0 = {0.1f, -0.2f};
        float[] x = {1.0f, 2.0f, -1.0f};
        try (NDManager m = NDManager.newBaseManager(); AdamW adam = new AdamW(0.9f, 0.95f, EPS, DECAY)) {
            Map<String, NDArray> params = new LinkedHashMap<>();
            params.put("w", trainable(m, w0, new Shape(2, 3)));
            params.put("b", trainable(m, b0, new Shape(2)));
            params.put("unused", trainable(m, new float[] {3f, 4f}, new Shape(2)));
            double[] w = toDouble(w0);
            double[] b = toDouble(b0);
            double[] mw = new double[6], vw = new double[6], mb = new double[2], vb = new double[2];
            float clip = 1.0f;
            for (int step = 1; step <= 3; step++) {
                // loss = sum((W x + b)^2): dL/dy = 2y, dL/dW = 2y x^T, dL/db = 2y
                double[] y = new double[2];
                for (int r = 0; r < 2; r++) {
                    y[r] = b[r];
                    for (int c = 0; c < 3; c++) {
                        y[r] += w[r * 3 + c] * x[c];
                    }
                }
                double[] gw = new double[6];
                double[] gb = new double[2];
                double squares = 0;
                for (int r = 0; r < 2; r++) {
                    gb[r] = 2 * y[r];
                    squares += gb[r] * gb[r];
                    for (int c = 0; c < 3; c++) {
                        gw[r * 3 + c] = 2 * y[r] * x[c];
                        squares += gw[r * 3 + c] * gw[r * 3 + c];
                    }
                }
                double norm = Math.sqrt(squares);
                double divide = norm > clip ? (norm + 1e-6) / clip : 1.0;
                float reported;
                try (NDManager step0 = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray input = step0.create(x, new Shape(3, 1));
                    NDArray out = params.get("w").matMul(input).reshape(2).add(params.get("b"));
                    reported = adam.step(out.square().sum(), params, LR, clip);
                }
                assertEquals(norm, reported, 1e-4 * norm, "global norm before clipping, step " + step);
                update(w, gw, mw, vw, divide, DECAY, step);
                update(b, gb, mb, vb, divide, 0, step);
                assertClose(w, params.get("w").toFloatArray(), "w after step " + step);
                assertClose(b, params.get("b").toFloatArray(), "b after step " + step);
            }
            assertTrue(w.length > 0 && Math.abs(w[0] - w0[0]) > 1e-3, "the weights moved");
            float[] unused = params.get("unused").toFloatArray();
            assertEquals(3f, unused[0]);
            assertEquals(4f, unused[1]);
            assertEquals(3, adam.steps());
        }
    }

    @Test
    void withoutClippingTheNormIsNotComputed() {
        try (NDManager m = NDManager.newBaseManager(); AdamW adam = AdamW.withWeightDecay(0f)) {
            Map<String, NDArray> params = Map.of("v", trainable(m, new float[] {1f, -2f}, new Shape(2)));
            float norm;
            try (NDManager step = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                norm = adam.step(params.get("v").square().sum(), params, 0.1f, 0f);
            }
            assertTrue(Float.isNaN(norm));
            float[] v = params.get("v").toFloatArray();
            // first Adam step: each weight moves by lr against the sign of its gradient
            assertEquals(0.9f, v[0], 1e-5);
            assertEquals(-1.9f, v[1], 1e-5);
        }
    }

    /** AdamW for one tensor: w *= 1 - lr wd; w -= lr sqrt(c2) / c1 * m / (sqrt(v) + eps) (eps outside the correction). */
    private static void update(double[] w, double[] g, double[] mean, double[] var, double divide, double decay,
            int step) {
        double c1 = 1 - Math.pow(0.9, step);
        double c2 = 1 - Math.pow(0.95, step);
        for (int i = 0; i < w.length; i++) {
            double grad = g[i] / divide;
            w[i] *= 1 - LR * decay;
            mean[i] = 0.9 * mean[i] + 0.1 * grad;
            var[i] = 0.95 * var[i] + 0.05 * grad * grad;
            w[i] -= LR * Math.sqrt(c2) / c1 * mean[i] / (Math.sqrt(var[i]) + EPS);
        }
    }

    private static NDArray trainable(NDManager m, float[] data, Shape shape) {
        NDArray a = m.create(data, shape).duplicate();
        a.setRequiresGradient(true);
        return a;
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static void assertClose(double[] expected, float[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5 * Math.max(1, Math.abs(expected[i])), what + " [" + i + "]");
        }
    }
}
