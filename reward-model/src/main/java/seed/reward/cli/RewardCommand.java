package seed.reward.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.reward.RewardModel;
import seed.reward.RewardModelFiles;
import seed.reward.RewardModelTrainer;
import seed.reward.RewardResult;
import seed.reward.RewardSettings;
import seed.stages.train.LearningRateSchedule;
import seed.stages.train.Threads;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code seed reward}: train a reward model on rankings, or score a response with one. */
@Command(name = "reward", mixinStandardHelpOptions = true,
        description = "Reward model: train on K-wise rankings (or chosen/rejected pairs), score responses.",
        subcommands = {RewardCommand.Train.class, RewardCommand.Score.class})
public final class RewardCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** {@code seed reward train}: last line printed is {@code val_accuracy=<x>}. */
    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Train a reward model (SFT backbone + scalar head) on rankings JSONL: each line "
                    + "{\"prompt\", \"responses\": [...], \"ranking\": [best..worst], \"ties\": [[i,j]]} or "
                    + "{\"prompt\", \"chosen\", \"rejected\"}; prompt and responses may be {\"role\", \"content\"} message "
                    + "lists (TRL's conversational formats, also chosen/rejected conversations with an implicit prompt). "
                    + "Every ranking becomes its C(K,2) ordered pairs; all rankings of a prompt share one batch; tied pairs "
                    + "give no pair. Preference strengths (a K-wise line's \"strengths\", 0 tie .. 4 significantly "
                    + "better per neighbouring pair, or a pairwise line's \"margin\") enter the loss as Llama 2's margin "
                    + "(--margin). Examples longer than --max-length are cut by --truncate-prompt / --truncate-response "
                    + "(chosen and rejected by the same rule) or refused naming the line. A folder with a checkpoint is "
                    + "resumed.")
    static final class Train implements Callable<Integer> {
        @Option(names = "--base", required = true, description = "SFT checkpoint or run folder for the backbone.")
        Path base;

        @Option(names = "--rankings", required = true, description = "Rankings JSONL file.")
        Path rankings;

        @Option(names = "--out", required = true, description = "Run folder: model/, checkpoints, metrics.jsonl, chart.")
        Path out;

        @Option(names = "--steps", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
        int steps = 200;

        @Option(names = "--rankings-per-batch", description = "Rankings per batch, packed as whole prompt groups (all "
                + "rankings of a prompt share a batch) (default: ${DEFAULT-VALUE}).")
        int groups = RewardSettings.defaults(null, null, null).rankingsPerBatch();

        @Option(names = "--lr", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
        float lr = 1e-3f;

        @Option(names = "--held-out", description = "Fraction of prompts held out (default: ${DEFAULT-VALUE}).")
        double heldOut = 0.1;

        @Option(names = "--eval-every", description = "Held-out evaluation every N steps (default: ${DEFAULT-VALUE}).")
        int evalEvery = 100;

        @Option(names = "--checkpoint-every", description = "Checkpoint every N steps (default: ${DEFAULT-VALUE}).")
        int checkpointEvery = 100;

        @Option(names = "--seed", description = "Seed (default: ${DEFAULT-VALUE}).")
        long seed = 1;

        @Option(names = "--threads", description = "libtorch intra-op threads (default: ${DEFAULT-VALUE}).")
        int threads = 1;

        @Option(names = "--patience", description = "Early stopping: stop after this many evaluations (every --eval-every "
                + "steps) without a lower held-out loss and keep the best model; 0 = off (default: ${DEFAULT-VALUE}).")
        int patience = RewardSettings.defaults(null, null, null).patience();

        @Option(names = "--readout", description = "What the scalar head reads: 'end' (the end token's hidden state) or "
                + "'end-logprob' (that and the backbone's own log-probability of the response's tokens, min and mean: "
                + "learns rankers who check facts, e.g. sums, from far fewer rankings) (default: ${DEFAULT-VALUE}).")
        String readout = "end";

        @Option(names = "--margin", description = "Preference strengths in the loss: 'llama2' (Llama 2's margin loss "
                + "-log sigmoid(r_chosen - r_rejected - m), m from each pair's strength by Llama 2's 'margin small' scale: "
                + "significantly better 1, better 2/3, slightly better 1/3, negligibly better 0; a pairwise line's TRL "
                + "\"margin\" as given; rankings without strengths train as with 'none') or 'none' (strengths ignored) "
                + "(default: ${DEFAULT-VALUE}).")
        String margin = "llama2";

        @Option(names = "--no-safety-head", description = "Train no safety head. By default, when the rankings flag "
                + "responses unsafe (a line's \"unsafe\" indices, as annotation snapshots write them), a safety head "
                + "learns the flag beside the reward head (Llama 2's safety reward model as a second head) and the "
                + "score is gated by it.")
        boolean noSafetyHead;

        @picocli.CommandLine.Mixin
        seed.stages.cli.TruncationOptions truncation;

        @picocli.CommandLine.Mixin
        seed.stages.cli.ComputeOptions compute = new seed.stages.cli.ComputeOptions();

        @picocli.CommandLine.Mixin
        seed.stages.cli.LoraOptions lora = new seed.stages.cli.LoraOptions();

        @Override
        public Integer call() throws Exception {
            RewardModel.Readout head = RewardModel.Readout.parse(readout);
            RewardSettings d = RewardSettings.defaults(base, rankings, out);
            RewardSettings s = new RewardSettings(base, rankings, out, steps, groups, lr, LearningRateSchedule.tenthOf(lr), d.warmupSteps(),
                    d.weightDecay(), d.clipNorm(), heldOut, evalEvery, checkpointEvery, seed, d.logEveryMs(), patience,
                    truncation.truncation(), head).withLora(lora.settings()).withMargin(RewardSettings.Margin.parse(margin))
                    .withSafety(!noSafetyHead);
            Threads.configure(threads);
            compute.apply();
            RewardResult r = RewardModelTrainer.train(s, System.out, 0);
            System.out.printf("model=%s%nmetrics=%s%nchart=%s%n", r.modelDir(), r.metrics(), r.chart());
            System.out.printf("train_pairs=%d held_out_pairs=%d val_loss=%.4f norm_mean=%.4f norm_std=%.4f%n",
                    r.trainPairs(), r.heldOutPairs(), r.valLoss(), r.normMean(), r.normStd());
            System.out.printf("val_accuracy=%.4f%n", r.valAccuracy());
            return 0;
        }
    }

    /** {@code seed reward score}: prints {@code reward=<x>} (normalised) and {@code raw=<x>}. */
    @Command(name = "score", mixinStandardHelpOptions = true, description = "Score one response to one prompt.")
    static final class Score implements Callable<Integer> {
        @Option(names = "--model", required = true, description = "Reward model folder (or its run folder).")
        Path model;

        @Option(names = "--prompt", required = true, description = "The prompt.")
        String prompt;

        @Option(names = "--response", required = true, description = "The response to score.")
        String response;

        @Override
        public Integer call() throws Exception {
            try (RewardModel rm = RewardModelFiles.load(model)) {
                float score = rm.score(List.of(prompt), List.of(response))[0];
                System.out.printf("raw=%.6f%n", score * rm.normStd() + rm.normMean());
                System.out.printf("reward=%.6f%n", score);
            }
            return 0;
        }
    }
}
