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

    /** The sizes of the README's main job (the numbers it reports). */
    /**
     * Weight of the offensive-word check as a verifiable reward: 1.0 is one standard deviation of the reward model's
     * normalised scores (mean 0, std 1 on its reference set), so a clean answer earns as much over an insult as the
     * reward model's typical spread between good and bad demo answers: a clear push against insults that does not
     * swamp its preference for polite, correct answers. Measured (PPO, seed 1337, one run each, loaded machine):
     * weight 1: unsafe 0.078 -> 0.031, rule 0.094 -> 0.172; weight 2: unsafe -> 0.008, rule -> 0.063; weight 3:
     * unsafe -> 0.008, rule -> 0.031. Larger weights meet the unsafe target but cost the rule rate.
     */
    static final double REWARD_CHECK_WEIGHT = 1.0;

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
        // its offensive-word check, and guard thresholds tuned to its short and long answers
        in.put("checks", "[\"polite-correct\"]");
        in.put("unsafe_check", Offensive.CHECK);
        // the same offensive-word check as a verifiable reward of RL (TRL's reward_funcs): the reward model learns the
        // rude answers only partly, so a clean answer earns +REWARD_CHECK_WEIGHT over an offensive one on top of it
        in.put("reward_checks", "{\"" + Offensive.CHECK + "\": " + REWARD_CHECK_WEIGHT + "}");
        Evaluator demo = PoliteCorrectRule.evaluator();
        in.put("collapse_below", demo.collapseBelow());
        in.put("explode_above", demo.explodeAbove());
        return in;
    }
}
