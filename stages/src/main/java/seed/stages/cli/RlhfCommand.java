package seed.stages.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import seed.stages.rlhf.Evaluator;
import seed.stages.checks.Check;
import seed.stages.rlhf.PpoResult;
import seed.stages.rlhf.PpoSettings;
import seed.stages.rlhf.PpoTrainer;
import seed.stages.rlhf.RewardFunction;
import seed.stages.rlhf.RewardLoader;
import seed.stages.train.Threads;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code seed rlhf}: stage 3, PPO against a frozen SFT reference driven by a reward model. The reward model's loader is
 * injected by the root command (module {@code reward-model}), so {@code stages} never depends on it.
 * The last line printed is {@code reward_gain=<x> kl=<x>}.
 */
@Command(name = "rlhf", mixinStandardHelpOptions = true,
        description = "Stage 3: RL of an SFT policy against a reward model with a KL penalty to the frozen SFT reference "
                + "(adaptive controller), clipped surrogate and guard rails: PPO (value head, GAE), RLOO or GRPO "
                + "(critic-free, k samples per prompt).")
public final class RlhfCommand implements Callable<Integer> {

    private final RewardLoader loader;

    public RlhfCommand(RewardLoader loader) {
        this.loader = loader;
    }

    @Option(names = "--policy", required = true, description = "SFT checkpoint or run folder (initial policy and frozen reference).")
    Path policy;

    @Option(names = "--reward", required = true, description = "Reward model folder (from `seed reward train`).")
    Path reward;

    @Option(names = "--prompts", required = true, description = "JSONL file of {\"prompt\": ...} (an SFT file works too).")
    Path prompts;

    @Option(names = "--out", required = true, description = "Run folder: checkpoints, policy/, metrics.jsonl, report/. "
            + "A folder with a checkpoint is resumed exactly.")
    Path out;

    @Option(names = "--algorithm", description = "ppo (value head + GAE), rloo (leave-one-out baseline), grpo "
            + "(group z-score of the scores, k3 KL in the loss, as TRL) or dr-grpo (group-centred, no std division, "
            + "token sums over a constant) (default: ${DEFAULT-VALUE}).")
    String algorithm = "ppo";

    @Option(names = "--kl-in", description = "Where the KL penalty goes: 'reward' (ppo and rloo's default; for grpo "
            + "Seed's earlier behaviour, KL subtracted before the group z-score) or 'loss' (a k3 term times the KL "
            + "coefficient, grpo and dr-grpo's default). Default: the algorithm's.")
    String klIn;

    @Option(names = "--iterations", description = "RL iterations (default: ${DEFAULT-VALUE}).")
    int iterations = 40;

    @Option(names = "--rollout-batch", description = "Prompts per iteration (default: 32 for ppo, 8 for rloo, 4 for "
            + "grpo/dr-grpo: the same 32 sequences).")
    Integer rolloutBatch;

    @Option(names = "--samples-per-prompt", description = "Responses per prompt (default: 1 for ppo, 4 for rloo, 8 for "
            + "grpo/dr-grpo, TRL's num_generations).")
    Integer samplesPerPrompt;

    @Option(names = "--scale-rewards", description = "GRPO: what the group-centred scores are divided by, TRL's "
            + "scale_rewards: 'group' (the group's std, as published; the default), 'batch' (the whole batch's std: a "
            + "rare bad answer's advantage grows with how bad it is) or 'none' (Dr. GRPO's advantage).")
    String scaleRewards;

    @Option(names = "--minibatches", description = "Minibatches per epoch (default: ${DEFAULT-VALUE}).")
    int minibatches = 2;

    @Option(names = "--ppo-epochs", description = "Epochs per rollout batch (default: ${DEFAULT-VALUE}).")
    int ppoEpochs = 4;

    @Option(names = "--lr", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    float learningRate = 1e-4f;

    @Option(names = "--kl-coef", description = "Initial KL penalty coefficient (default: ${DEFAULT-VALUE}).")
    double klCoef = 0.1;

    @Option(names = "--target-kl", description = "Target KL per response in nats for the adaptive controller; 0 = fixed "
            + "coefficient (default: ${DEFAULT-VALUE}).")
    double targetKl = 2.0;

    @Option(names = "--kl-bound", description = "Guard rail: KL per response above which the run stops (default: ${DEFAULT-VALUE}).")
    double klBound = 10.0;

    @Option(names = "--guard", description = "What a guard rail does: 'stop' (default) or 'warn'.")
    String guard = "stop";

    @Option(names = "--check", description = "An independent check reported before/after and per iteration as "
            + "<name>_rate (repeatable): [name:]kind[=argument] with kind polite-correct (the demo task's rule, and its "
            + "guard thresholds), regex=PATTERN, not-regex=PATTERN, keywords=w1,w2, no-keywords=w1,w2, max-length=N or "
            + "json. Default: none (generic guard thresholds).")
    List<String> check = List.of();

    @Option(names = "--reward-check", paramLabel = "NAME=WEIGHT", description = "A check used as a verifiable reward "
            + "beside the reward model, as TRL's reward_funcs (repeatable): per rollout, reward = model score + "
            + "sum of WEIGHT x (1 when the check passes, else 0), before every algorithm's advantages. NAME is a --check's "
            + "name, or a check spec (split at the last '='), e.g. unsafe:no-keywords=idiot,moron=1.0. A positive "
            + "weight rewards passing; a response without the end token passes no check. Logged per iteration as "
            + "reward_check_<name>_pass and reward_check_<name>. Default: none.")
    List<String> rewardCheck = List.of();

    @Option(names = "--max-new-tokens", description = "Response length limit (default: ${DEFAULT-VALUE}).")
    int maxNewTokens = 48;

    @Option(names = "--temperature", description = "Sampling temperature, > 0; log-probabilities and the KL use it too "
            + "(default: ${DEFAULT-VALUE}).")
    float temperature = 1.0f;

    @Option(names = "--missing-end-penalty", description = "Subtracted from the score of a response without an end token "
            + "(default: ${DEFAULT-VALUE}).")
    double missingEndPenalty = 1.0;

    @Option(names = "--whiten-scores", description = "Whiten scores over each rollout batch.")
    boolean whitenScores;

    @Option(names = "--ptx-data", description = "PPO-ptx: SFT JSONL whose language-model loss is mixed in.")
    Path ptxData;

    @Option(names = "--ptx-coef", description = "Weight of the PPO-ptx loss (default: ${DEFAULT-VALUE}).")
    double ptxCoef = 0.0;

    @Option(names = "--held-out", description = "Prompts held out for the before/after measurement (default: ${DEFAULT-VALUE}).")
    int heldOut = 64;

    @Option(names = "--held-out-prompts", description = "Optional JSONL of prompts for the before/after measurement "
            + "(default: hold out --held-out prompts of --prompts).")
    Path heldOutFile;

    @Option(names = "--checkpoint-every", description = "Checkpoint every N iterations (default: ${DEFAULT-VALUE}).")
    int checkpointEvery = 10;

    @Option(names = "--seed", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed = 1;

    @Option(names = "--stop-at", description = "Stop after this iteration with a resumable checkpoint (0 = run to the end).")
    int stopAt = 0;

    @Option(names = "--threads", description = "libtorch intra-op threads (default: ${DEFAULT-VALUE}).")
    int threads = 1;

    @Mixin
    TruncationOptions truncation;

    @Mixin
    LoraOptions lora;

    @picocli.CommandLine.Mixin
    seed.stages.cli.ComputeOptions compute = new seed.stages.cli.ComputeOptions();

    /** The settings these flags describe (defaults for everything not on the command line). */
    PpoSettings settings() {
        if (!guard.equals("stop") && !guard.equals("warn")) {
            throw new IllegalArgumentException("--guard must be 'stop' or 'warn', got '" + guard + "'");
        }
        PpoSettings s = PpoSettings.defaults(policy, reward, prompts, out).withAlgorithm(PpoSettings.Algorithm.parse(algorithm));
        PpoSettings.Rollout r = s.rollout();
        int prompts = rolloutBatch != null ? rolloutBatch : r.promptsPerIteration();
        int samples = samplesPerPrompt != null ? samplesPerPrompt : r.samplesPerPrompt();
        return s.withRollout(x -> new PpoSettings.Rollout(prompts, samples, maxNewTokens, temperature, missingEndPenalty,
                        x.scoreClip(), whitenScores, scaleRewards == null ? null : PpoSettings.RewardScale.parse(scaleRewards)))
                .withOptimisation(o -> o.withSchedule(minibatches, ppoEpochs).withLearningRate(learningRate)
                        .withPtx(ptxData, ptxCoef))
                .withKl(new PpoSettings.KlControl(klCoef, targetKl, s.kl().horizon(),
                        klIn == null ? null : PpoSettings.KlPlacement.parse(klIn)))
                .withGuards(g -> new PpoSettings.Guards(klBound, guard.equals("stop"), heldOut, heldOutFile))
                .withRun(new PpoSettings.Run(iterations, seed, checkpointEvery, s.run().logEveryMs()))
                .withLora(lora.settings());
    }

    /** The evaluator of the {@code --check} specs (none: generic guard thresholds). */
    static Evaluator evaluator(List<String> specs) {
        return evaluator(specs, List.of());
    }

    /** The evaluator of the {@code --check} specs with the {@code --reward-check} entries as verifiable rewards. */
    static Evaluator evaluator(List<String> specs, List<String> rewardChecks) {
        List<Check> checks = Check.parseAll(specs);
        return Check.evaluator(checks).withRewards(Check.rewards(rewardChecks, checks));
    }

    @Override
    public Integer call() throws Exception {
        PpoSettings s = settings();
        Evaluator evaluator = evaluator(check, rewardCheck);
        Threads.configure(threads);
        compute.apply();
        PpoResult r;
        try (RewardFunction rm = loader.load(reward)) {
            r = PpoTrainer.train(s, rm, evaluator, truncation.truncation(), System.out, stopAt);
        }
        if (r.policyDir() == null) {
            System.out.printf("stopped at iteration %d; resume with the same command%n", r.iterations());
            return 0;
        }
        System.out.printf("policy=%s%nmetrics=%s%nreward_chart=%s%nkl_chart=%s%n", r.policyDir(), r.metrics(),
                r.rewardChart(), r.klChart());
        StringBuilder checks = new StringBuilder();
        r.checksBefore().forEach((name, before) -> checks.append(String.format(" %s_rate_before=%.4f %s_rate_after=%.4f",
                name, before, name, r.checksAfter().getOrDefault(name, Double.NaN))));
        System.out.printf("algorithm=%s reward_before=%.4f reward_after=%.4f%s reference_frozen=%s seconds=%.1f%n",
                r.algorithm(), r.rewardBefore(), r.rewardAfter(), checks, r.referenceFrozen(), r.seconds());
        if (!r.guardEvents().isEmpty()) {
            System.out.println("guard_events=" + r.guardEvents().size() + (r.stoppedEarly() ? " (stopped early)" : ""));
        }
        System.out.printf("reward_gain=%.4f kl=%.4f%n", r.rewardGain(), r.kl());
        return 0;
    }
}
