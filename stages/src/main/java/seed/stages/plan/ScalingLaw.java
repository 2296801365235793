package seed.stages.plan;

/**
 * Chinchilla's parametric loss L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022, approach 3) and the
 * compute-optimal allocation it implies under C = 6 N D: N_opt(C) = G (C/6)^(beta/(alpha+beta)),
 * D_opt(C) = (C/6)^(alpha/(alpha+beta)) / G, with G = (alpha A / (beta B))^(1/(alpha+beta)).
 */
public record ScalingLaw(double e, double a, double b, double alpha, double beta) {

    /** The paper's published fit (approach 3). */
    public static final ScalingLaw CHINCHILLA = new ScalingLaw(1.69, 406.4, 410.7, 0.34, 0.28);

    /** Tokens per parameter of the ~20x rule (the paper's approaches 1 and 2 at large scale). */
    public static final double TOKENS_PER_PARAM = 20;

    public ScalingLaw {
        if (!(alpha > 0) || !(beta > 0) || !(a > 0) || !(b > 0)) {
            throw new IllegalArgumentException("a scaling law needs A, B, alpha and beta > 0");
        }
    }

    /** Predicted loss (nats per token) of a model of {@code params} trained on {@code tokens}. */
    public double loss(double params, double tokens) {
        return e + a / Math.pow(params, alpha) + b / Math.pow(tokens, beta);
    }

    private double g() {
        return Math.pow(alpha * a / (beta * b), 1 / (alpha + beta));
    }

    /** Compute-optimal parameter count for a budget of {@code flops}. */
    public double optimalParams(double flops) {
        return g() * Math.pow(flops / 6, beta / (alpha + beta));
    }

    /** Compute-optimal token count for a budget of {@code flops}. */
    public double optimalTokens(double flops) {
        return Math.pow(flops / 6, alpha / (alpha + beta)) / g();
    }

    /** The budget whose compute-optimal token count is {@code tokens}. */
    public double flopsForTokens(double tokens) {
        return 6 * Math.pow(tokens * g(), (alpha + beta) / alpha);
    }

    /** The budget whose compute-optimal model has {@code params} parameters. */
    public double flopsForParams(double params) {
        return 6 * Math.pow(params / g(), (alpha + beta) / beta);
    }
}
