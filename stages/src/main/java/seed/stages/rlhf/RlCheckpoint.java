package seed.stages.rlhf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.model.Gpt;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.AdamW;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The RL run's resumable state and its checkpoint folder: policy, value head (PPO), AdamW moments, and state.json with
 * the iteration, the prompt position, the KL controller, the guard-rail state (first reward, events), the "before"
 * measurement and the settings the run was started with. Resuming with settings that change the trajectory is
 * refused with the names of what changed.
 */
final class RlCheckpoint {

    private static final ObjectMapper JSON = new ObjectMapper();

    private RlCheckpoint() {
    }

    /** Everything the loop carries from one iteration to the next. Immutable. */
    record State(int iteration, long promptPosition, KlController controller, HeldOutEvaluation.Stats before,
            List<String> guardEvents, double firstReward) {

        static State start(PpoSettings s, HeldOutEvaluation.Stats before) {
            return new State(0, 0, s.kl().initialController(), before, List.of(), Double.NaN);
        }

        /** After an iteration that measured {@code kl} and logged {@code rec}. */
        State next(double kl, Map<String, Object> rec, PpoSettings s) {
            double first = Double.isNaN(firstReward) ? PpoTrainer.num(rec, "reward") : firstReward;
            return new State(iteration + 1, promptPosition + s.rollout().promptsPerIteration(),
                    controller.update(kl, s.rollout().sequences()), before, guardEvents, first);
        }

        State withEvent(String event) {
            List<String> events = new ArrayList<>(guardEvents);
            events.add(event);
            return new State(iteration, promptPosition, controller, before, List.copyOf(events), firstReward);
        }
    }

    /** The settings that shape the trajectory, as a JSON tree (paths, logging and checkpoint cadence left out). */
    static ObjectNode fingerprint(PpoSettings s, Gpt policy, VerifiableRewards rewards) {
        ObjectNode n = JSON.valueToTree(s);
        if (!rewards.isEmpty()) {
            // only when configured, so checkpoints of runs without them still resume
            n.set("reward_checks", JSON.valueToTree(rewards.describe()));
        }
        n.remove(List.of("policy", "reward", "prompts", "out"));
        ((ObjectNode) n.get("optimisation")).remove("ptxData");
        ((ObjectNode) n.get("guards")).remove(List.of("stop", "heldOutFile"));
        ((ObjectNode) n.get("run")).remove(List.of("checkpointEvery", "logEveryMs"));
        n.put("shape", policy.config().describe());
        return n;
    }

    /** The restored state when {@code out} holds a checkpoint (weights and moments loaded in place), else null. */
    static State restoreOrStart(PpoSettings s, VerifiableRewards rewards, Gpt policy, ValueHead valueHead, AdamW adam,
            Path out, PrintStream console) throws IOException {
        if (!Files.exists(out.resolve(Checkpoints.LATEST))) {
            return null;
        }
        Path ckpt = Checkpoints.resolve(out);
        JsonNode state = JSON.readTree(ckpt.resolve(Checkpoints.STATE).toFile());
        JsonNode saved = state.get("settings");
        if (saved == null) {
            console.println("rlhf      WARNING " + ckpt + " records no settings (an older run): cannot check them");
        } else {
            ResumeCheck.requireSame(saved, fingerprint(s, policy, rewards), out); // dropped reward checks too
        }
        Checkpoints.loadWeightsInto(policy, ckpt);
        if (valueHead != null) {
            valueHead.load(SafeTensors.read(ckpt.resolve(ValueHead.FILE)));
        }
        adam.restore(SafeTensors.read(ckpt.resolve(Checkpoints.OPTIMIZER)), policy.device());
        int iteration = state.path("iteration").asInt();
        long position = state.path("prompt_position").asLong(-1);
        if (position < 0) {
            position = (long) iteration * s.rollout().promptsPerIteration();
        }
        double coef = state.path("kl_coef").asDouble();
        KlController controller = state.path("adaptive").asBoolean()
                ? new KlController.Adaptive(coef, s.kl().target(), s.kl().horizon()) : new KlController.Fixed(coef);
        HeldOutEvaluation.Stats before = JSON.treeToValue(state.path("before"), HeldOutEvaluation.Stats.class);
        List<String> events = new ArrayList<>();
        state.path("guard_events").forEach(e -> events.add(e.asText()));
        double first = state.path("first_reward").isNumber() ? state.path("first_reward").asDouble() : Double.NaN;
        console.printf("rlhf      resumed from %s at iteration %d, prompt position %d (kl coef %.4f)%n", ckpt.getFileName(),
                iteration, position, coef);
        return new State(iteration, position, controller, before, List.copyOf(events), first);
    }

    static void save(Path out, PpoSettings s, VerifiableRewards rewards, State st, Gpt policy, ValueHead valueHead, Tokenizer tokenizer, AdamW adam)
            throws IOException {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("stage", "rlhf");
        state.put("algorithm", s.algorithm().cliName());
        state.put("iteration", st.iteration());
        state.put("prompt_position", st.promptPosition());
        state.put("kl_coef", st.controller().coef());
        state.put("adaptive", st.controller() instanceof KlController.Adaptive);
        state.put("seed", s.seed());
        state.put("first_reward", Double.isNaN(st.firstReward()) ? null : st.firstReward());
        state.put("before", st.before());
        state.put("guard_events", st.guardEvents());
        state.put("settings", fingerprint(s, policy, rewards));
        Checkpoints.commit(out, Checkpoints.nameFor(st.iteration()), 2, folder -> {
            Checkpoints.writeModel(folder, policy, tokenizer);
            if (valueHead != null) {
                SafeTensors.write(folder.resolve(ValueHead.FILE), valueHead.weights(), Map.of("producer", "seed-rlhf"));
            }
            SafeTensors.write(folder.resolve(Checkpoints.OPTIMIZER), adam.state(), Map.of("producer", "seed-rlhf"));
            Files.writeString(folder.resolve(Checkpoints.STATE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(state));
        });
    }
}
