package seed.stages.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.rlhf.PpoResult;
import seed.stages.rlhf.PpoSettings;
import seed.stages.rlhf.PpoTrainer;
import seed.stages.rlhf.RewardFunction;
import seed.stages.rlhf.RewardLoader;
import seed.stages.train.Threads;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code seed rlhf}: stage 3, PPO against a frozen SFT reference driven by a reward model. The reward model's loader is
 * injected by the root command (module {@code reward-model}), so {@code stages} never depends on it.
 * The last line printed is {@code reward_gain=<x> kl=<x>}.
 */
@Command(name = "rlhf", mixinStandardHelpOptions = true,
        description = "Stage 3: PPO (InstructGPT-style) of an SFT policy against a reward model, with a per-token KL "
                + "penalty to the frozen SFT reference (adaptive controller), GAE, clipped losses and guard rails.")
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

    @Option(names = "--iterations", description = "PPO iterations (default: ${DEFAULT-VALUE}).")
    int iterations = 40;

    @Option(names = "--rollout-batch", description = "Prompts per iteration (default: ${DEFAULT-VALUE}).")
    int rolloutBatch = 32;

    @Option(names = "--minibatches", description = "Minibatches per PPO epoch (default: ${DEFAULT-VALUE}).")
    int minibatches = 2;

    @Option(names = "--ppo-epochs", description = "PPO epochs per rollout batch (default: ${DEFAULT-VALUE}).")
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

    @Option(names = "--max-new-tokens", description = "Response length limit (default: ${DEFAULT-VALUE}).")
    int maxNewTokens = 48;

    @Option(names = "--temperature", description = "Sampling temperature (default: ${DEFAULT-VALUE}).")
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

    @picocli.CommandLine.Mixin

    seed.stages.cli.ComputeOptions compute = new seed.stages.cli.ComputeOptions();

    @Override
    public Integer call() throws Exception {
        if (!guard.equals("stop") && !guard.equals("warn")) {
            throw new IllegalArgumentException("--guard must be 'stop' or 'warn', got '" + guard + "'");
        }
        Threads.configure(threads);
        compute.apply();
        PpoSettings d = PpoSettings.defaults(policy, reward, prompts, out);
        PpoSettings s = new PpoSettings(policy, reward, prompts, out, iterations, rolloutBatch, minibatches, ppoEpochs,
                learningRate, d.clipRange(), d.valueClip(), d.valueCoef(), d.entropyCoef(), d.gamma(), d.lambda(), klCoef,
                targetKl, d.klHorizon(), klBound, maxNewTokens, temperature, missingEndPenalty, d.scoreClip(), whitenScores,
                ptxData, ptxCoef, d.clipNorm(), heldOut, guard.equals("stop"), checkpointEvery, seed, d.logEveryMs(),
                heldOutFile);
        PpoResult r;
        try (RewardFunction rm = loader.load(reward)) {
            r = PpoTrainer.train(s, rm, System.out, stopAt);
        }
        if (r.policyDir() == null) {
            System.out.printf("stopped at iteration %d; resume with the same command%n", r.iterations());
            return 0;
        }
        System.out.printf("policy=%s%nmetrics=%s%nreward_chart=%s%nkl_chart=%s%n", r.policyDir(), r.metrics(),
                r.rewardChart(), r.klChart());
        System.out.printf("reward_before=%.4f reward_after=%.4f rule_rate_before=%.4f rule_rate_after=%.4f reference_frozen=%s%n",
                r.rewardBefore(), r.rewardAfter(), r.ruleRateBefore(), r.ruleRateAfter(), r.referenceFrozen());
        if (!r.guardEvents().isEmpty()) {
            System.out.println("guard_events=" + r.guardEvents().size() + (r.stoppedEarly() ? " (stopped early)" : ""));
        }
        System.out.printf("reward_gain=%.4f kl=%.4f%n", r.rewardGain(), r.kl());
        return 0;
    }
}
