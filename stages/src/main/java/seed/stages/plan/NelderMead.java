package seed.stages.plan;

import java.util.Arrays;
import java.util.function.ToDoubleFunction;

/**
 * Nelder-Mead simplex minimisation (Nelder and Mead 1965, with the standard coefficients 1, 2, 0.5, 0.5): a
 * derivative-free optimiser small enough to keep in the tree, enough for the five constants of a scaling law.
 */
final class NelderMead {

    private NelderMead() {
    }

    /** The minimum of {@code f} found from {@code start} (initial steps {@code step} per coordinate). */
    static double[] minimize(ToDoubleFunction<double[]> f, double[] start, double[] step, int maxEvaluations,
            double tolerance) {
        int n = start.length;
        double[][] simplex = new double[n + 1][];
        double[] values = new double[n + 1];
        simplex[0] = start.clone();
        for (int i = 0; i < n; i++) {
            simplex[i + 1] = start.clone();
            simplex[i + 1][i] += step[i];
        }
        for (int i = 0; i <= n; i++) {
            values[i] = f.applyAsDouble(simplex[i]);
        }
        int evaluations = n + 1;
        Integer[] order = new Integer[n + 1];
        while (evaluations < maxEvaluations) {
            for (int i = 0; i <= n; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (x, y) -> Double.compare(values[x], values[y]));
            double[][] s = new double[n + 1][];
            double[] v = new double[n + 1];
            for (int i = 0; i <= n; i++) {
                s[i] = simplex[order[i]];
                v[i] = values[order[i]];
            }
            System.arraycopy(s, 0, simplex, 0, n + 1);
            System.arraycopy(v, 0, values, 0, n + 1);
            if (Math.abs(values[n] - values[0]) <= tolerance * (Math.abs(values[0]) + 1e-30)
                    && spread(simplex) < 1e-10) {
                break;
            }
            double[] centroid = new double[n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    centroid[j] += simplex[i][j] / n;
                }
            }
            double[] reflected = along(centroid, simplex[n], -1);
            double fr = f.applyAsDouble(reflected);
            evaluations++;
            if (fr < values[0]) {
                double[] expanded = along(centroid, simplex[n], -2);
                double fe = f.applyAsDouble(expanded);
                evaluations++;
                replace(simplex, values, n, fe < fr ? expanded : reflected, Math.min(fe, fr));
            } else if (fr < values[n - 1]) {
                replace(simplex, values, n, reflected, fr);
            } else {
                boolean outside = fr < values[n];
                double[] contracted = along(centroid, outside ? reflected : simplex[n], 0.5);
                double fc = f.applyAsDouble(contracted);
                evaluations++;
                if (fc < (outside ? fr : values[n])) {
                    replace(simplex, values, n, contracted, fc);
                } else { // shrink towards the best point
                    for (int i = 1; i <= n; i++) {
                        simplex[i] = along(simplex[0], simplex[i], 0.5);
                        values[i] = f.applyAsDouble(simplex[i]);
                        evaluations++;
                    }
                }
            }
        }
        int best = 0;
        for (int i = 1; i <= n; i++) {
            if (values[i] < values[best]) {
                best = i;
            }
        }
        return simplex[best];
    }

    /** {@code from + t (to - from)}. */
    private static double[] along(double[] from, double[] to, double t) {
        double[] out = new double[from.length];
        for (int i = 0; i < from.length; i++) {
            out[i] = from[i] + t * (to[i] - from[i]);
        }
        return out;
    }

    private static void replace(double[][] simplex, double[] values, int i, double[] point, double value) {
        simplex[i] = point;
        values[i] = value;
    }

    private static double spread(double[][] simplex) {
        double max = 0;
        for (double[] p : simplex) {
            for (int j = 0; j < p.length; j++) {
                max = Math.max(max, Math.abs(p[j] - simplex[0][j]));
            }
        }
        return max;
    }
}
