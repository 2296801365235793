package seed.reward;

import seed.stages.data.Truncation;

import java.nio.file.Path;

/**
 * Everything a reward-model training run needs: explicit inputs (the SFT checkpoint, the rankings file), the output
 * folder, and hyper-parameters with defaults that train Seed's tiny shapes well.
 *
 * @param base             SFT checkpoint or run folder the backbone is initialised from
 * @param rankings         rankings JSONL (K-wise or pairwise lines, plain or conversational)
 * @param out              run folder: final model in {@code out/model}, checkpoints, metrics.jsonl, chart
 * @param steps            optimizer steps at most (early stopping may end sooner)
 * @param rankingsPerBatch rankings per batch, as whole prompt groups (all rankings of one prompt): the run packs as
 *                         many groups as hold this many rankings on average, at least one
 * @param learningRate     peak AdamW learning rate
 * @param minLearningRate  floor of the cosine decay
 * @param warmupSteps      linear warm-up steps
 * @param weightDecay      AdamW weight decay on matrices
 * @param clipNorm         global gradient-norm clip
 * @param heldOutFraction  share of prompts held out for accuracy/loss (split by prompt)
 * @param evalEvery        held-out evaluation every N steps (and at the end)
 * @param checkpointEvery  resumable checkpoint every N steps (and at the end)
 * @param seed             seeds the split, batch order and head initialisation
 * @param logEveryMs       at most one progress line per this many milliseconds
 * @param patience         early stopping: stop after this many evaluations without a lower held-out loss, and keep
 *                         the model of the best one (0 = off: train all steps, keep the last model)
 * @param truncation       what to do with examples that do not fit the backbone's context (TRL's meanings)
 * @param lora             train LoRA adapters (plus the head) on a frozen backbone (null = every weight); the final
 *                         model folder holds the adapters folded in
 * @param readout          what the scalar head reads: the end token's hidden state, or that and the backbone's own
 *                         log-probability of the response ({@link RewardModel.Readout})
 * @param margin           whether annotators' preference strengths enter the loss as Llama 2's margin
 *                         ({@link Margin}); pairs without a strength have margin 0 either way
 * @param safety           train a safety head beside the reward head when the rankings flag responses unsafe (Llama
 *                         2's safety reward model, as a second head on the same backbone: a classifier of the
 *                         annotators' unsafe flag); the model's score then gates helpfulness by it
 *                         ({@link RewardModel#score}). No flags in the data: no head either way
 */
public record RewardSettings(Path base, Path rankings, Path out, int steps, int rankingsPerBatch, float learningRate,
        float minLearningRate, int warmupSteps, float weightDecay, float clipNorm, double heldOutFraction, int evalEvery,
        int checkpointEvery, long seed, long logEveryMs, int patience, Truncation truncation, RewardModel.Readout readout,
        seed.stages.model.LoraSettings lora, Margin margin, boolean safety) {

    /**
     * How preference strengths shape the pairwise loss. {@code LLAMA2} (the default): -log sigmoid(r_better - r_worse
     * - m), m the pair's margin from its strength ({@link seed.reward.data.PreferenceStrength}: Llama 2's "Margin
     * Small", 1, 2/3, 1/3, 0 for significantly / better / slightly / negligibly better; TRL's {@code margin} column as
     * given); rankings without strengths train exactly as with {@code NONE}. {@code NONE}: strengths are ignored
     * (InstructGPT's loss).
     */
    public enum Margin {
        NONE, LLAMA2;

        /** The command-line spelling: {@code none} or {@code llama2}. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Margin parse(String text) {
            for (Margin m : values()) {
                if (m.label().equals(text)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("margin must be 'none' or 'llama2', got '" + text + "'");
        }
    }

    /** Strengths as Llama 2's margin (the default). */
    public RewardSettings(Path base, Path rankings, Path out, int steps, int rankingsPerBatch, float learningRate,
            float minLearningRate, int warmupSteps, float weightDecay, float clipNorm, double heldOutFraction, int evalEvery,
            int checkpointEvery, long seed, long logEveryMs, int patience, Truncation truncation, RewardModel.Readout readout,
            seed.stages.model.LoraSettings lora) {
        this(base, rankings, out, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps, weightDecay, clipNorm,
                heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, patience, truncation, readout, lora, Margin.LLAMA2);
    }

    /** With a safety head whenever the rankings flag responses unsafe (the default). */
    public RewardSettings(Path base, Path rankings, Path out, int steps, int rankingsPerBatch, float learningRate,
            float minLearningRate, int warmupSteps, float weightDecay, float clipNorm, double heldOutFraction, int evalEvery,
            int checkpointEvery, long seed, long logEveryMs, int patience, Truncation truncation, RewardModel.Readout readout,
            seed.stages.model.LoraSettings lora, Margin margin) {
        this(base, rankings, out, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps, weightDecay, clipNorm,
                heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, patience, truncation, readout, lora, margin, true);
    }

    /** Every weight trains (no adapters). */
    public RewardSettings(Path base, Path rankings, Path out, int steps, int rankingsPerBatch, float learningRate,
            float minLearningRate, int warmupSteps, float weightDecay, float clipNorm, double heldOutFraction, int evalEvery,
            int checkpointEvery, long seed, long logEveryMs, int patience, Truncation truncation, RewardModel.Readout readout) {
        this(base, rankings, out, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps, weightDecay, clipNorm,
                heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, patience, truncation, readout, null);
    }

    /** The form before the read-out was a setting: the end token alone. */
    public RewardSettings(Path base, Path rankings, Path out, int steps, int rankingsPerBatch, float learningRate,
            float minLearningRate, int warmupSteps, float weightDecay, float clipNorm, double heldOutFraction,
            int evalEvery, int checkpointEvery, long seed, long logEveryMs, int patience, Truncation truncation) {
        this(base, rankings, out, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps, weightDecay, clipNorm,
                heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, patience, truncation, RewardModel.Readout.END);
    }

    /** The earlier form, without early stopping and with strict truncation. */
    public RewardSettings(Path base, Path rankings, Path out, int steps, int rankingsPerBatch, float learningRate,
            float minLearningRate, int warmupSteps, float weightDecay, float clipNorm, double heldOutFraction,
            int evalEvery, int checkpointEvery, long seed, long logEveryMs) {
        this(base, rankings, out, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps, weightDecay, clipNorm,
                heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, 0, Truncation.strict());
    }

    /**
     * 32 rankings per batch as whole prompt groups (8 groups of the tests' four annotators): measured on the synthetic
     * rules, fewer rankings per step (8) gave a weaker reward model (0.88 vs 0.87-0.93 held-out, and PPO against it
     * tripped the KL bound); see reward-model/README.md.
     */
    public static RewardSettings defaults(Path base, Path rankings, Path out) {
        return new RewardSettings(base, rankings, out, 200, 32, 1e-3f, 1e-4f, 20, 0.0f, 1.0f, 0.1, 100, 100, 1, 2000, 0,
                Truncation.strict());
    }

    public RewardSettings {
        if (steps <= 0 || rankingsPerBatch <= 0) {
            throw new IllegalArgumentException("steps and rankings per batch must be positive");
        }
        if (!(learningRate > 0)) {
            throw new IllegalArgumentException("learning rate must be positive, got " + learningRate);
        }
        if (!(heldOutFraction > 0 && heldOutFraction < 1)) {
            throw new IllegalArgumentException("held-out fraction must be in (0, 1), got " + heldOutFraction);
        }
        if (evalEvery <= 0 || checkpointEvery <= 0) {
            throw new IllegalArgumentException("eval and checkpoint intervals must be positive");
        }
        if (patience < 0) {
            throw new IllegalArgumentException("patience must be >= 0 (0 = no early stopping), got " + patience);
        }
        if (readout == null) {
            throw new IllegalArgumentException("readout must be given (RewardModel.Readout.END is InstructGPT's)");
        }
        if (truncation == null) {
            throw new IllegalArgumentException("truncation must be given (Truncation.strict() refuses what does not fit)");
        }
        if (margin == null) {
            throw new IllegalArgumentException("margin must be given (Margin.LLAMA2 uses preference strengths, NONE ignores them)");
        }
    }

    /** The same run training LoRA adapters plus the head ({@code null} = every weight). */
    public RewardSettings withLora(seed.stages.model.LoraSettings adapters) {
        return new RewardSettings(base, rankings, out, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps,
                weightDecay, clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, patience, truncation,
                readout, adapters, margin, safety);
    }

    public RewardSettings withSteps(int n) {
        return new RewardSettings(base, rankings, out, n, rankingsPerBatch, learningRate, minLearningRate, warmupSteps,
                weightDecay, clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, patience, truncation, readout, lora, margin, safety);
    }

    public RewardSettings withLearningRate(float peak, float floor) {
        return new RewardSettings(base, rankings, out, steps, rankingsPerBatch, peak, floor, warmupSteps, weightDecay,
                clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, patience, truncation, readout, lora, margin, safety);
    }

    /** Early stopping on held-out loss, evaluated every {@code every} steps. */
    public RewardSettings withEarlyStopping(int every, int evaluations) {
        return new RewardSettings(base, rankings, out, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps,
                weightDecay, clipNorm, heldOutFraction, every, checkpointEvery, seed, logEveryMs, evaluations, truncation, readout, lora, margin, safety);
    }

    public RewardSettings withTruncation(Truncation t) {
        return new RewardSettings(base, rankings, out, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps,
                weightDecay, clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, patience, t, readout, lora, margin, safety);
    }

    /** What the scalar head reads ({@link RewardModel.Readout}). */
    public RewardSettings withReadout(RewardModel.Readout r) {
        return new RewardSettings(base, rankings, out, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps,
                weightDecay, clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, patience, truncation, r, lora, margin, safety);
    }

    /** Seeds the split, the batch order and the head. */
    public RewardSettings withSeed(long newSeed) {
        return new RewardSettings(base, rankings, out, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps,
                weightDecay, clipNorm, heldOutFraction, evalEvery, checkpointEvery, newSeed, logEveryMs, patience, truncation, readout, lora, margin, safety);
    }

    public RewardSettings withOut(Path newOut) {
        return new RewardSettings(base, rankings, newOut, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps,
                weightDecay, clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, patience, truncation, readout, lora, margin, safety);
    }

    /** Whether preference strengths enter the loss as Llama 2's margin ({@link Margin}). */
    public RewardSettings withMargin(Margin m) {
        return new RewardSettings(base, rankings, out, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps,
                weightDecay, clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, patience, truncation, readout, lora, m, safety);
    }

    /** Whether a safety head trains beside the reward head when the rankings flag responses unsafe. */
    public RewardSettings withSafety(boolean on) {
        return new RewardSettings(base, rankings, out, steps, rankingsPerBatch, learningRate, minLearningRate, warmupSteps,
                weightDecay, clipNorm, heldOutFraction, evalEvery, checkpointEvery, seed, logEveryMs, patience, truncation, readout, lora, margin, on);
    }
}
