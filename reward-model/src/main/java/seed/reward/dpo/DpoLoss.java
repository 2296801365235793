package seed.reward.dpo;

import ai.djl.ndarray.NDArray;

/**
 * The preference losses of {@code seed dpo}, with TRL's meanings ({@code DPOTrainer}, {@code loss_type}). Each takes
 * the policy's and the reference's log-probabilities of the chosen and the rejected responses, (P,) tensors, and
 * gives the per-pair loss; with z = (logp_c - logp_r) - (ref_c - ref_r):
 * <ul>
 * <li>{@link #SIGMOID} (Rafailov et al. 2023; conservative DPO with label smoothing e):
 *     {@code -logsigmoid(beta z) (1 - e) - logsigmoid(-beta z) e}</li>
 * <li>{@link #IPO} (Azar et al. 2023): {@code (z - 1 / (2 beta))^2}, on log-probabilities averaged over the
 *     response's tokens (as TRL does for IPO)</li>
 * <li>{@link #HINGE} (SLiC, Zhao et al. 2023): {@code relu(1 - beta z)}</li>
 * </ul>
 * A closed set: the command line parses exactly these.
 */
public enum DpoLoss {
    SIGMOID, IPO, HINGE;

    /** True when the log-probabilities are means over the response's tokens rather than sums (IPO). */
    public boolean lengthNormalised() {
        return this == IPO;
    }

    /** Per-pair loss (P,), differentiable through the policy's log-probabilities. */
    public NDArray perPair(NDArray policyChosen, NDArray policyRejected, NDArray refChosen, NDArray refRejected,
            double beta, double labelSmoothing) {
        NDArray z = policyChosen.sub(policyRejected).sub(refChosen.sub(refRejected));
        return switch (this) {
            case SIGMOID -> {
                NDArray bz = z.mul((float) beta);
                NDArray loss = softplusNeg(bz).mul((float) (1 - labelSmoothing));
                yield labelSmoothing == 0 ? loss : loss.add(softplusNeg(bz.neg()).mul((float) labelSmoothing));
            }
            case IPO -> z.sub((float) (1 / (2 * beta))).square();
            case HINGE -> z.mul((float) -beta).add(1f).maximum(0f);
        };
    }

    /** The same formulas on plain numbers: the reference the tests and the held-out loss use. */
    public double perPair(double policyChosen, double policyRejected, double refChosen, double refRejected, double beta,
            double labelSmoothing) {
        double z = (policyChosen - policyRejected) - (refChosen - refRejected);
        return switch (this) {
            case SIGMOID -> softplus(-beta * z) * (1 - labelSmoothing) + softplus(beta * z) * labelSmoothing;
            case IPO -> (z - 1 / (2 * beta)) * (z - 1 / (2 * beta));
            case HINGE -> Math.max(0, 1 - beta * z);
        };
    }

    /** -log sigmoid(x) = softplus(-x), stably: max(-x, 0) + log(1 + exp(-|x|)). */
    static NDArray softplusNeg(NDArray x) {
        return x.neg().maximum(0f).add(x.abs().neg().exp().add(1f).log());
    }

    private static double softplus(double x) {
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }

    /** Parses {@code sigmoid|ipo|hinge} (any case); the error names the accepted values. */
    public static DpoLoss parse(String name) {
        for (DpoLoss l : values()) {
            if (l.name().equalsIgnoreCase(name)) {
                return l;
            }
        }
        throw new IllegalArgumentException("--loss must be sigmoid, ipo or hinge, got '" + name + "'");
    }
}
