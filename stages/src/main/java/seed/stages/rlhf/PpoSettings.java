package seed.stages.rlhf;

import java.nio.file.Path;

/**
 * Everything an RL run needs (PPO, RLOO or GRPO): explicit inputs (SFT policy, reward model folder, prompts), the
 * output folder, and four small groups of hyper-parameters with defaults that work at Seed's tiny shapes. Change one
 * knob with the {@code with...} methods, e.g. {@code defaults(...).withRollout(r -> r.withTemperature(0.7f))}.
 *
 * <p>The name stays {@code PpoSettings} for the callers that already use it; {@link #algorithm()} picks the method.
 *
 * @param policy       SFT checkpoint or run folder: initial policy and frozen reference
 * @param reward       reward model folder (loaded by the caller's {@link RewardLoader})
 * @param prompts      prompts JSONL ({"prompt": ...} or {"messages": [...]} per line; other fields ignored)
 * @param out          run folder: checkpoints, final policy in {@code out/policy}, metrics.jsonl, report/*.svg
 * @param algorithm    PPO (value head + GAE) or a critic-free method (RLOO, GRPO)
 * @param rollout      what is sampled each iteration and how
 * @param optimisation the update
 * @param kl           the KL penalty to the reference and its controller
 * @param guards       when to stop (or warn) and what is held out to measure the run
 * @param run          iterations, seed, checkpoint interval, logging
 * @param lora         train LoRA adapters on the policy (the SFT model, folded) instead of every weight; the frozen
 *                     reference is then the same base with the adapters off, not a second copy (null = full)
 */
public record PpoSettings(Path policy, Path reward, Path prompts, Path out, Algorithm algorithm, Rollout rollout,
        Optimisation optimisation, KlControl kl, Guards guards, Run run, seed.stages.model.LoraSettings lora) {

    /** The RL method. PPO learns a value head; RLOO and GRPO use the other samples of the same prompt as baseline. */
    public enum Algorithm {
        /** InstructGPT-style PPO: per-token KL-shaped rewards, value head, GAE, whitened advantages. */
        PPO,
        /** REINFORCE leave-one-out (Ahmadian et al. 2024): advantage = reward - mean reward of the prompt's other samples. */
        RLOO,
        /**
         * Group relative policy optimisation as published (Shao et al. 2024; TRL's {@code GRPOTrainer}, loss type
         * {@code grpo}): advantage = (score - group mean) / (group std + 1e-4) of the scores alone, the KL to the
         * reference as a k3 term in the loss with coefficient beta, token losses averaged per response then over
         * responses.
         */
        GRPO,
        /**
         * Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-like training"; TRL's loss type {@code dr_grpo} with
         * {@code scale_rewards=False}): advantage = score - group mean (no std division), token losses summed and
         * divided by a constant (responses x max new tokens) instead of each response's length.
         */
        DR_GRPO;

        public boolean usesCritic() {
            return this == PPO;
        }

        /** The command-line spelling: {@code ppo}, {@code rloo}, {@code grpo}, {@code dr-grpo}. */
        public String cliName() {
            return name().toLowerCase().replace('_', '-');
        }

        /** Where the KL penalty goes unless the settings say otherwise: GRPO's in the loss (k3), the others' in the reward. */
        public KlPlacement defaultKlPlacement() {
            return this == GRPO || this == DR_GRPO ? KlPlacement.LOSS_K3 : KlPlacement.REWARD;
        }

        /** Parses {@code ppo|rloo|grpo|dr-grpo} (any case, '-' or '_'); the error names the accepted values. */
        public static Algorithm parse(String name) {
            for (Algorithm a : values()) {
                if (a.name().equalsIgnoreCase(name) || a.cliName().equalsIgnoreCase(name)) {
                    return a;
                }
            }
            throw new IllegalArgumentException("--algorithm must be ppo, rloo, grpo or dr-grpo, got '" + name + "'");
        }
    }

    /**
     * Where the KL penalty to the reference enters. A closed set: the published methods differ exactly here.
     */
    public enum KlPlacement {
        /**
         * In the reward: PPO per token ({@code -beta * (logp - logp_ref)}, InstructGPT), RLOO / GRPO per response
         * ({@code score - beta * KL(response)} before the baseline; for GRPO this is Seed's earlier behaviour, whose
         * effective coefficient is beta / group std).
         */
        REWARD,
        /**
         * As a k3 term in the loss (Schulman's estimator {@code exp(ref - logp) - (ref - logp) - 1} per token, times
         * beta), as TRL's and DeepSeek's GRPO; critic-free methods only.
         */
        LOSS_K3;

        /** Parses {@code reward|loss}; the error names the accepted values. */
        public static KlPlacement parse(String name) {
            return switch (name.toLowerCase()) {
                case "reward" -> REWARD;
                case "loss", "loss-k3", "k3" -> LOSS_K3;
                default -> throw new IllegalArgumentException("--kl-in must be 'reward' or 'loss', got '" + name + "'");
            };
        }
    }

    /**
     * What GRPO divides the group-centred scores by (TRL's {@code scale_rewards}). The group's std (as published)
     * gives a lone bad answer among k otherwise alike -(k-1)/sqrt(k) however bad it is, and blows a group's tiny
     * differences up to unit size; the batch's std (TRL's {@code batch}, after "Tricks or Traps", Liu et al. 2025)
     * keeps how far apart answers are, across groups too; none is Dr. GRPO's advantage.
     */
    public enum RewardScale {
        GROUP, BATCH, NONE;

        /** Parses {@code group|batch|none}; the error names the accepted values. */
        public static RewardScale parse(String name) {
            for (RewardScale r : values()) {
                if (r.name().equalsIgnoreCase(name)) {
                    return r;
                }
            }
            throw new IllegalArgumentException("--scale-rewards must be group, batch or none, got '" + name + "'");
        }
    }

    /**
     * What each iteration samples.
     *
     * @param promptsPerIteration prompts per iteration
     * @param samplesPerPrompt    responses per prompt (1 for PPO; RLOO and GRPO need at least 2: the group baseline)
     * @param maxNewTokens        response length limit
     * @param temperature         sampling temperature of rollouts and evaluation (> 0); log-probabilities of the policy
     *                            and the reference, and so the KL, are taken at this temperature too
     * @param missingEndPenalty   subtracted from the score of a response that did not produce the end token
     * @param scoreClip           scores are clipped to [-scoreClip, scoreClip] (after optional whitening)
     * @param whitenScores        whiten scores over each rollout batch before shaping
     * @param rewardScale         GRPO's division of the group-centred scores (TRL's {@code scale_rewards}); null = the
     *                            group's std as published; left out of the settings JSON when null, so older checkpoints
     *                            still resume
     */
    public record Rollout(int promptsPerIteration, int samplesPerPrompt, int maxNewTokens, float temperature,
            double missingEndPenalty, double scoreClip, boolean whitenScores,
            @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
            RewardScale rewardScale) {

        /** GRPO's published group scaling. */
        public Rollout(int promptsPerIteration, int samplesPerPrompt, int maxNewTokens, float temperature,
                double missingEndPenalty, double scoreClip, boolean whitenScores) {
            this(promptsPerIteration, samplesPerPrompt, maxNewTokens, temperature, missingEndPenalty, scoreClip,
                    whitenScores, null);
        }

        public Rollout {
            if (promptsPerIteration <= 0 || samplesPerPrompt <= 0) {
                throw new IllegalArgumentException("prompts per iteration and samples per prompt must be positive, got "
                        + promptsPerIteration + " and " + samplesPerPrompt);
            }
            if (maxNewTokens <= 0) {
                throw new IllegalArgumentException("max new tokens must be positive, got " + maxNewTokens);
            }
            if (!(temperature > 0)) {
                throw new IllegalArgumentException("temperature must be > 0 for RL (log-probabilities and the KL are "
                        + "taken at the sampling temperature; 0 would be greedy decoding), got " + temperature);
            }
        }

        /** Sequences per iteration. */
        public int sequences() {
            return promptsPerIteration * samplesPerPrompt;
        }

        public Rollout withTemperature(float t) {
            return new Rollout(promptsPerIteration, samplesPerPrompt, maxNewTokens, t, missingEndPenalty, scoreClip, whitenScores,
                    rewardScale);
        }

        public Rollout withBatch(int prompts, int samples) {
            return new Rollout(prompts, samples, maxNewTokens, temperature, missingEndPenalty, scoreClip, whitenScores,
                    rewardScale);
        }

        public Rollout withMaxNewTokens(int n) {
            return new Rollout(promptsPerIteration, samplesPerPrompt, n, temperature, missingEndPenalty, scoreClip, whitenScores,
                    rewardScale);
        }

        public Rollout withScoreShaping(double missingEnd, double clip, boolean whiten) {
            return new Rollout(promptsPerIteration, samplesPerPrompt, maxNewTokens, temperature, missingEnd, clip, whiten,
                    rewardScale);
        }

        /** GRPO's scaling of the group-centred scores ({@code null}: the group std, as published). */
        public Rollout withRewardScale(RewardScale scale) {
            return new Rollout(promptsPerIteration, samplesPerPrompt, maxNewTokens, temperature, missingEndPenalty,
                    scoreClip, whitenScores, scale);
        }
    }

    /**
     * The update on each rollout batch.
     *
     * @param minibatches  minibatches per epoch
     * @param epochs       passes over each rollout batch
     * @param learningRate AdamW learning rate (constant)
     * @param clipNorm     global gradient-norm clip
     * @param clipRange    ratio clip epsilon of the surrogate (all three algorithms)
     * @param valueClip    value clip epsilon (PPO)
     * @param valueCoef    weight of the value loss (PPO)
     * @param entropyCoef  weight of an entropy bonus (0 = none)
     * @param gamma        discount (PPO)
     * @param lambda       GAE lambda (PPO)
     * @param ptxData      optional SFT/pretraining JSONL for PPO-ptx (null = off)
     * @param ptxCoef      weight of the PPO-ptx language-model loss
     */
    public record Optimisation(int minibatches, int epochs, float learningRate, float clipNorm, double clipRange,
            double valueClip, double valueCoef, double entropyCoef, double gamma, double lambda, Path ptxData,
            double ptxCoef) {
        public Optimisation {
            if (minibatches <= 0 || epochs <= 0) {
                throw new IllegalArgumentException("minibatches and epochs must be positive, got " + minibatches + " and " + epochs);
            }
            if (!(learningRate > 0)) {
                throw new IllegalArgumentException("learning rate must be positive, got " + learningRate);
            }
        }

        public Optimisation withLearningRate(float lr) {
            return new Optimisation(minibatches, epochs, lr, clipNorm, clipRange, valueClip, valueCoef, entropyCoef, gamma,
                    lambda, ptxData, ptxCoef);
        }

        public Optimisation withSchedule(int minibatchCount, int epochCount) {
            return new Optimisation(minibatchCount, epochCount, learningRate, clipNorm, clipRange, valueClip, valueCoef,
                    entropyCoef, gamma, lambda, ptxData, ptxCoef);
        }

        public Optimisation withEntropyCoef(double coef) {
            return new Optimisation(minibatches, epochs, learningRate, clipNorm, clipRange, valueClip, valueCoef, coef, gamma,
                    lambda, ptxData, ptxCoef);
        }

        public Optimisation withPtx(Path data, double coef) {
            return new Optimisation(minibatches, epochs, learningRate, clipNorm, clipRange, valueClip, valueCoef, entropyCoef,
                    gamma, lambda, data, coef);
        }
    }

    /**
     * The KL penalty against the frozen reference: per token for PPO, per response in the reward for RLOO and GRPO.
     *
     * @param initCoef initial coefficient
     * @param target   target KL per response (nats) of the adaptive controller of Ziegler et al.; 0 = fixed coefficient
     * @param horizon  horizon of the adaptive controller
     * @param placement where the penalty enters; null = the algorithm's published place
     *                  ({@link Algorithm#defaultKlPlacement()}); left out of the settings JSON when null, so older
     *                  checkpoints still resume
     */
    public record KlControl(double initCoef, double target, double horizon,
            @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
            KlPlacement placement) {
        public KlControl {
            if (!(initCoef >= 0) || !(target >= 0)) {
                throw new IllegalArgumentException("KL coefficient and target must be >= 0, got " + initCoef + " and " + target);
            }
        }

        /** The algorithm's own placement. */
        public KlControl(double initCoef, double target, double horizon) {
            this(initCoef, target, horizon, null);
        }

        public KlControl withPlacement(KlPlacement p) {
            return new KlControl(initCoef, target, horizon, p);
        }

        /** The controller these settings start with. */
        public KlController initialController() {
            return target > 0 ? new KlController.Adaptive(Math.max(initCoef, 1e-6), target, horizon)
                    : new KlController.Fixed(initCoef);
        }
    }

    /**
     * Guard rails and the before/after measurement. The data-specific thresholds (what length is "collapsed") come
     * with the caller's {@link Evaluator}.
     *
     * @param klBound        KL per response (nats) above which the run warns or stops
     * @param stop           true: a guard rail stops the run (with a checkpoint); false: it only warns
     * @param heldOutPrompts prompts held out of {@code prompts} when {@code heldOutFile} is null
     * @param heldOutFile    optional prompts JSONL for the before/after measurement
     */
    public record Guards(double klBound, boolean stop, int heldOutPrompts, Path heldOutFile) {
        public Guards {
            if (!(klBound > 0)) {
                throw new IllegalArgumentException("the KL bound must be > 0, got " + klBound);
            }
            if (heldOutPrompts < 1) {
                throw new IllegalArgumentException("held-out prompts must be at least 1, got " + heldOutPrompts);
            }
        }

        public Guards withKlBound(double bound, boolean stopRun) {
            return new Guards(bound, stopRun, heldOutPrompts, heldOutFile);
        }
    }

    /**
     * The run itself.
     *
     * @param iterations      RL iterations (rollout + update)
     * @param seed            seeds the prompt order, sampling and minibatch order
     * @param checkpointEvery checkpoint every N iterations (and at the end)
     * @param logEveryMs      at most one progress line per this many milliseconds (0: every iteration)
     */
    public record Run(int iterations, long seed, int checkpointEvery, long logEveryMs) {
        public Run {
            if (iterations <= 0 || checkpointEvery < 1) {
                throw new IllegalArgumentException("iterations and the checkpoint interval must be positive, got "
                        + iterations + " and " + checkpointEvery);
            }
        }
    }

    /** A run that trains every weight of the policy. */
    public PpoSettings(Path policy, Path reward, Path prompts, Path out, Algorithm algorithm, Rollout rollout,
            Optimisation optimisation, KlControl kl, Guards guards, Run run) {
        this(policy, reward, prompts, out, algorithm, rollout, optimisation, kl, guards, run, null);
    }

    public PpoSettings {
        if (rollout.samplesPerPrompt() < 2 && !algorithm.usesCritic()) {
            throw new IllegalArgumentException(algorithm.name().toLowerCase() + " needs at least 2 samples per prompt "
                    + "(the other samples of a prompt are its baseline), got " + rollout.samplesPerPrompt());
        }
        if (algorithm.usesCritic() && kl.placement() == KlPlacement.LOSS_K3) {
            throw new IllegalArgumentException("ppo puts its KL penalty per token into the reward (GAE needs it there); "
                    + "the KL as a loss term is for rloo, grpo and dr-grpo");
        }
        if (rollout.rewardScale() != null && algorithm != Algorithm.GRPO) {
            throw new IllegalArgumentException("the reward scale (--scale-rewards) is GRPO's choice; "
                    + algorithm.cliName() + " has its own baseline (dr-grpo is GRPO with 'none')");
        }
        if (optimisation.minibatches() > rollout.sequences()) {
            throw new IllegalArgumentException("minibatches (" + optimisation.minibatches() + ") exceed the sequences per "
                    + "iteration (" + rollout.sequences() + ")");
        }
    }

    /** InstructGPT-style PPO at Seed's demo size: 40 iterations of 32 prompts, adaptive KL toward 2 nats. */
    public static PpoSettings defaults(Path policy, Path reward, Path prompts, Path out) {
        return new PpoSettings(policy, reward, prompts, out, Algorithm.PPO,
                new Rollout(32, 1, 48, 1.0f, 1.0, 5.0, false),
                new Optimisation(2, 4, 1e-4f, 1.0f, 0.2, 0.2, 0.1, 0.0, 1.0, 0.95, null, 0.0),
                new KlControl(0.1, 2.0, 1000), new Guards(10.0, true, 64, null), new Run(40, 1, 10, 0), null);
    }

    /**
     * Switches the method, at the same number of sequences per iteration unless the rollout already has several samples
     * per prompt: RLOO gets 4 samples per prompt and a quarter of the prompts (Ahmadian et al. 2024's k = 4); GRPO and
     * Dr. GRPO 8 and an eighth (TRL's {@code num_generations} default; DeepSeekMath used 64). A group's z-score gives
     * one rare bad answer among k otherwise alike -(k-1)/sqrt(k) however bad it is, -1.5 at k = 4 and -2.47 at k = 8,
     * and a group of 8 holds a 5% tail twice as often as one of 4: at k = 4 GRPO left the demo's unsafe rate where SFT
     * had it (issue 22).
     */
    public PpoSettings withAlgorithm(Algorithm a) {
        Rollout r = rollout;
        if (!a.usesCritic() && r.samplesPerPrompt() < 2) {
            int k = a == Algorithm.RLOO ? 4 : 8;
            r = r.withBatch(Math.max(1, r.promptsPerIteration() / k), k);
        } else if (a.usesCritic() && algorithm != Algorithm.PPO && r.samplesPerPrompt() > 1) {
            r = r.withBatch(r.sequences(), 1);
        }
        return new PpoSettings(policy, reward, prompts, out, a, r, optimisation, kl, guards, run, lora);
    }

    public PpoSettings withRollout(java.util.function.UnaryOperator<Rollout> change) {
        return new PpoSettings(policy, reward, prompts, out, algorithm, change.apply(rollout), optimisation, kl, guards, run, lora);
    }

    public PpoSettings withOptimisation(java.util.function.UnaryOperator<Optimisation> change) {
        return new PpoSettings(policy, reward, prompts, out, algorithm, rollout, change.apply(optimisation), kl, guards, run, lora);
    }

    public PpoSettings withKl(KlControl k) {
        return new PpoSettings(policy, reward, prompts, out, algorithm, rollout, optimisation, k, guards, run, lora);
    }

    public PpoSettings withGuards(java.util.function.UnaryOperator<Guards> change) {
        return new PpoSettings(policy, reward, prompts, out, algorithm, rollout, optimisation, kl, change.apply(guards), run, lora);
    }

    public PpoSettings withRun(Run r) {
        return new PpoSettings(policy, reward, prompts, out, algorithm, rollout, optimisation, kl, guards, r, lora);
    }

    public PpoSettings withIterations(int n) {
        return withRun(new Run(n, run.seed(), run.checkpointEvery(), run.logEveryMs()));
    }

    /** The same run training LoRA adapters ({@code null} = every weight). */
    public PpoSettings withLora(seed.stages.model.LoraSettings adapters) {
        return new PpoSettings(policy, reward, prompts, out, algorithm, rollout, optimisation, kl, guards, run, adapters);
    }

    public PpoSettings withSeed(long seed) {
        return withRun(new Run(run.iterations(), seed, run.checkpointEvery(), run.logEveryMs()));
    }

    public PpoSettings withOut(Path newOut) {
        return new PpoSettings(policy, reward, prompts, newOut, algorithm, rollout, optimisation, kl, guards, run, lora);
    }

    /** PPO-ptx: mix the language-model loss on {@code data} (SFT or pretraining JSONL) with weight {@code coef}. */
    public PpoSettings withPtx(Path data, double coef) {
        return withOptimisation(o -> o.withPtx(data, coef));
    }

    public PpoSettings withHeldOutFile(Path file) {
        return withGuards(g -> new Guards(g.klBound(), g.stop(), g.heldOutPrompts(), file));
    }

    /** GRPO's scaling in this run: the settings' choice, else the group's std (Dr. GRPO: none). */
    public RewardScale rewardScale() {
        return rollout.rewardScale() != null ? rollout.rewardScale()
                : algorithm == Algorithm.DR_GRPO ? RewardScale.NONE : RewardScale.GROUP;
    }

    /** Where the KL penalty goes in this run: the settings' choice, else the algorithm's published place. */
    public KlPlacement klPlacement() {
        return kl.placement() != null ? kl.placement() : algorithm.defaultKlPlacement();
    }

    /** Kept for callers of the flat record: the first fields by their old names. */
    public int iterations() {
        return run.iterations();
    }

    public long seed() {
        return run.seed();
    }

    public double klBound() {
        return guards.klBound();
    }

    public Path heldOutFile() {
        return guards.heldOutFile();
    }
}
