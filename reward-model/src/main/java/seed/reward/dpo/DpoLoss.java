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
 * <li>{@link #PLACKETT_LUCE} (Rafailov et al. 2023, appendix A.3): not per pair but per whole ranking, the
 *     Plackett-Luce negative log-likelihood with the implicit rewards as scores ({@link PlackettLuce}); a pair is a
 *     ranking of 2, for which it is the sigmoid loss</li>
 * </ul>
 * A closed set: the command line parses exactly these.
 */
public enum DpoLoss {
    SIGMOID, IPO, HINGE, PLACKETT_LUCE;

    /** True when the loss is over whole rankings ({@link PlackettLuce}) rather than their pairs. */
    public boolean rankwise() {
        return this == PLACKETT_LUCE;
    }

    /** The command line's and flows' spelling: {@code sigmoid}, {@code ipo}, {@code hinge}, {@code plackett-luce}. */
    public String spelling() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /** True when the log-probabilities are means over the response's tokens rather than sums (IPO). */
    public boolean lengthNormalised() {
        return this == IPO;
    }

    /**
     * Per-pair loss (P,), differentiable through the policy's log-probabilities. Plackett-Luce's per-pair form is its
     * K = 2 case, the sigmoid loss (training uses {@link PlackettLuce} on whole rankings).
     */
    public NDArray perPair(NDArray policyChosen, NDArray policyRejected, NDArray refChosen, NDArray refRejected,
            double beta, double labelSmoothing) {
        NDArray z = policyChosen.sub(policyRejected).sub(refChosen.sub(refRejected));
        return switch (this) {
            case SIGMOID, PLACKETT_LUCE -> {
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
            case SIGMOID, PLACKETT_LUCE -> softplus(-beta * z) * (1 - labelSmoothing) + softplus(beta * z) * labelSmoothing;
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

    /** Parses {@code sigmoid|ipo|hinge|plackett-luce} (any case, _ or -); the error names the accepted values. */
    public static DpoLoss parse(String name) {
        for (DpoLoss l : values()) {
            if (l.spelling().equalsIgnoreCase(name) || l.name().equalsIgnoreCase(name)) {
                return l;
            }
        }
        throw new IllegalArgumentException("--loss must be sigmoid, ipo, hinge or plackett-luce, got '" + name + "'");
    }
}
