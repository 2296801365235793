package seed.workflows.demo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import seed.stages.demo.Offensive;
import seed.stages.demo.PoliteCorrectRule;
import seed.stages.rlhf.Evaluator;

/**
 * The inputs of a {@code seed.three-stage} run on the generated demo data, with the model and step sizes as plain
 * numbers: the demo's defaults finish in a few minutes on 2 cores; tests use smaller ones.
 *
 * @param seed           seeds data generation and every stage
 * @param context        context length
 * @param layers         transformer blocks
 * @param dModel         width
 * @param heads          attention heads
 * @param pretrainSteps  stage 1 steps
 * @param sftSteps       stage 2 steps
 * @param rewardSteps    reward-model steps
 * @param ppoIterations  PPO iterations
 * @param prompts        prompts generated for candidates and rollouts
 */
public record DemoInputs(long seed, int context, int layers, int dModel, int heads, int pretrainSteps, int sftSteps,
        int rewardSteps, int ppoIterations, int prompts) {

    /**
     * Weight of the offensive-word check as a verifiable reward of RL; 0: none, the demo's default. Measured on this
     * machine (PPO, one run each; runs differ with the snapshot's order): with no reward check, greedy rule rate
     * 0.17 -> 0.66, unsafe 0.078 -> 0.020, win rate 0.86; with weight 1, 0.17 -> 0.22 and 0.078 -> 0.039 (an earlier
     * run: 0.47, 0.031); weights 2 and 3 cut unsafe to 0.008 but push the rule rate below SFT's. The reward model alone
     * already ranks the rude answers last, and the extra reward cost more in rule rate than it saved in harm. (A
     * penalty, {@code keywords=...} at weight -1, is the same reward up to a constant for every answer that ends; they
     * differ only on cut-off answers, which pass no check. Those measurements were single runs, 4 samples per prompt.)
     * The demo's harm is suppressed instead by the reward model's safety head, learned from the annotators' unsafe
     * flags (issue 22; generic, no word list). Set this to try a weight; {@code seed rlhf --reward-check} and the flows' {@code reward_checks} input are the
     * user-facing switches.
     */
    static final double REWARD_CHECK_WEIGHT = 0.0;

    /** The sizes of the README's main job (the numbers it reports). */
    public static DemoInputs defaults() {
        return new DemoInputs(1337, 96, 3, 96, 4, 300, 400, 200, 60, 256);
    }

    /** Writes the demo data under {@code dataDir} and returns the flow's inputs. */
    public Map<String, Object> write(Path dataDir, Path reportDir) throws IOException {
        DemoData.DemoFiles files = DemoData.write(dataDir, seed, 2000, 0.3, prompts);
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("corpus", files.corpus().toString());
        in.put("sft_data", files.sft().toString());
        in.put("prompts", files.prompts().toString());
        in.put("held_out_prompts", files.heldOutPrompts().toString());
        in.put("report_dir", reportDir.toAbsolutePath().toString());
        in.put("seed", seed);
        in.put("context", context);
        in.put("layers", layers);
        in.put("d_model", dModel);
        in.put("heads", heads);
        in.put("pretrain_steps", pretrainSteps);
        in.put("sft_steps", sftSteps);
        in.put("reward_steps", rewardSteps);
        in.put("ppo_iterations", ppoIterations);
        // the demo's own judgement, passed explicitly (the flow's defaults are generic): its polite-and-correct rule,
        // its offensive-word check, and guard thresholds tuned to its short and long answers. The offensive-word check
        // is also the RL stage's second check: keep-best never keeps a policy below SFT on it (issue 22: selecting by
        // the rule alone kept GRPO policies ruder than SFT)
        in.put("checks", "[\"polite-correct\", \"" + Offensive.CHECK + "\"]");
        in.put("unsafe_check", Offensive.CHECK);
        // the same offensive-word check can be a verifiable reward of RL (TRL's reward_funcs); off in the demo, see
        // REWARD_CHECK_WEIGHT
        in.put("reward_checks", REWARD_CHECK_WEIGHT == 0 ? "{}"
                : "{\"" + Offensive.CHECK + "\": " + REWARD_CHECK_WEIGHT + "}");
        Evaluator demo = PoliteCorrectRule.evaluator();
        in.put("collapse_below", demo.collapseBelow());
        in.put("explode_above", demo.explodeAbove());
        return in;
    }
}
