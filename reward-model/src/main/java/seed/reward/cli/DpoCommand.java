package seed.reward.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import seed.reward.dpo.DpoLoss;
import seed.reward.dpo.DpoResult;
import seed.reward.dpo.DpoSettings;
import seed.reward.dpo.DpoTrainer;
import seed.stages.cli.ComputeOptions;
import seed.stages.cli.LoraOptions;
import seed.stages.cli.TruncationOptions;
import seed.stages.train.Threads;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code seed dpo}: preference optimisation straight from the rankings snapshot (no reward model, no rollouts). It
 * lives in this module because it reads the reward model's rankings format and split. Ends with {@code name=value}
 * lines, the last {@code val_rewards_accuracy=<x> kl=<x>}.
 */
@Command(name = "dpo", mixinStandardHelpOptions = true,
        description = "Direct preference optimisation of an SFT policy on a rankings JSONL (the reward model's format: "
                + "K-wise rankings become their C(K,2) ordered pairs, ties none; chosen/rejected pairs work too), with "
                + "TRL's losses: sigmoid (DPO), ipo, hinge, or plackett-luce (the likelihood of each whole ranking, ties "
                + "unordered). The reference is the SFT model (frozen copy, or with "
                + "--lora-rank the base with adapters off); its log-probabilities are computed once. Held-out prompts "
                + "are split as `seed reward train` splits them. A folder with a checkpoint is resumed exactly.")
public final class DpoCommand implements Callable<Integer> {

    @Option(names = "--policy", required = true, description = "SFT checkpoint or run folder (initial policy and reference).")
    Path policy;

    @Option(names = "--rankings", required = true, description = "Rankings JSONL (e.g. `seed annotate snapshot`).")
    Path rankings;

    @Option(names = "--out", required = true, description = "Run folder: policy/, checkpoints, metrics.jsonl, report/*.svg.")
    Path out;

    @Option(names = "--loss", description = "sigmoid, ipo or hinge (TRL's loss_type), or plackett-luce over whole rankings "
            + "(default: ${DEFAULT-VALUE}).")
    String loss = "sigmoid";

    @Option(names = "--beta", description = "Implicit reward scale beta (default: ${DEFAULT-VALUE}).")
    double beta = 0.1;

    @Option(names = "--label-smoothing", description = "Conservative DPO label-flip rate, sigmoid only (default: ${DEFAULT-VALUE}).")
    double labelSmoothing = 0.0;

    @Option(names = "--steps", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
    int steps = 200;

    @Option(names = "--batch", description = "Prompt groups per step, each with all its pairs (default: ${DEFAULT-VALUE}).")
    int batch = 8;

    @Option(names = "--lr", description = "Peak learning rate, warm-up then cosine to a tenth (default: ${DEFAULT-VALUE}).")
    float lr = 1e-4f;

    @Option(names = "--held-out", description = "Fraction of prompts held out, as `seed reward train` (default: ${DEFAULT-VALUE}).")
    double heldOut = 0.1;

    @Option(names = "--eval-every", description = "Held-out evaluation every N steps (default: ${DEFAULT-VALUE}).")
    int evalEvery = 50;

    @Option(names = "--checkpoint-every", description = "Checkpoint every N steps (default: ${DEFAULT-VALUE}).")
    int checkpointEvery = 50;

    @Option(names = "--seed", description = "Seed: split (as the reward model's), batch order, KL samples (default: ${DEFAULT-VALUE}).")
    long seed = 1;

    @Option(names = "--stop-at", description = "Stop after this step with a resumable checkpoint (0 = run to the end).")
    int stopAt = 0;

    @Option(names = "--threads", description = "libtorch intra-op threads (default: ${DEFAULT-VALUE}).")
    int threads = 1;

    @Mixin
    TruncationOptions truncation;

    @Mixin
    LoraOptions lora = new LoraOptions();

    @Mixin
    ComputeOptions compute = new ComputeOptions();

    /** The settings these flags describe. */
    DpoSettings settings() {
        DpoSettings d = DpoSettings.defaults(policy, rankings, out);
        return new DpoSettings(policy, rankings, out, DpoLoss.parse(loss), beta, labelSmoothing, steps, batch, lr,
                d.warmupSteps(), d.clipNorm(), heldOut, evalEvery, checkpointEvery, seed, d.logEveryMs(),
                d.klMaxNewTokens(), truncation.truncation(), lora.settings());
    }

    @Override
    public Integer call() throws Exception {
        DpoSettings s = settings();
        Threads.configure(threads);
        compute.apply();
        DpoResult r = DpoTrainer.train(s, System.out, stopAt);
        if (r.policyDir() == null) {
            System.out.printf("stopped at step %d; resume with the same command%n", r.steps());
            return 0;
        }
        System.out.printf("policy=%s%nmetrics=%s%nrewards_chart=%s%naccuracy_chart=%s%n", r.policyDir(), r.metrics(),
                r.rewardsChart(), r.accuracyChart());
        System.out.printf("loss=%s train_pairs=%d held_out_pairs=%d val_loss=%.4f val_rewards_margin=%.4f "
                        + "reference_frozen=%s seconds=%.1f%n", s.loss().spelling(), r.trainPairs(),
                r.heldOutPairs(), r.valLoss(), r.valRewardsMargin(), r.referenceFrozen(), r.seconds());
        System.out.printf("val_rewards_accuracy=%.4f kl=%.4f%n", r.valRewardsAccuracy(), r.kl());
        return 0;
    }
}
