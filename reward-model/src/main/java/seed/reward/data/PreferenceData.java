package seed.reward.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Rankings expanded into prompt groups, split into train and held-out sets BY PROMPT (every ranking of a prompt
 * lands on the same side, so held-out accuracy measures generalisation to unseen prompts), and cut into batches
 * of whole groups (the pairs of one prompt always share a batch).
 */
public record PreferenceData(List<PromptGroup> train, List<PromptGroup> heldOut) {

    /**
     * Expands and splits. A prompt goes to the held-out side with probability {@code heldOutFraction} (a seeded
     * shuffle of the distinct prompts, so the split is reproducible). Groups that yield no pair (all tied) are dropped.
     */
    public static PreferenceData split(List<Ranking> rankings, double heldOutFraction, long seed) {
        if (heldOutFraction < 0 || heldOutFraction >= 1) {
            throw new IllegalArgumentException("held-out fraction must be in [0, 1), got " + heldOutFraction);
        }
        Map<String, List<PromptGroup>> byPrompt = new LinkedHashMap<>();
        for (Ranking r : rankings) {
            PromptGroup g = PromptGroup.expand(r);
            if (!g.pairs().isEmpty()) {
                byPrompt.computeIfAbsent(r.prompt(), p -> new ArrayList<>()).add(g);
            }
        }
        List<String> prompts = new ArrayList<>(byPrompt.keySet());
        Collections.shuffle(prompts, new Random(seed));
        int nHeld = (int) Math.round(prompts.size() * heldOutFraction);
        if (heldOutFraction > 0 && nHeld == 0 && prompts.size() > 1) {
            nHeld = 1;
        }
        Set<String> held = new HashSet<>(prompts.subList(0, nHeld));
        List<PromptGroup> train = new ArrayList<>(), heldOut = new ArrayList<>();
        for (var e : byPrompt.entrySet()) {
            (held.contains(e.getKey()) ? heldOut : train).addAll(e.getValue());
        }
        return new PreferenceData(List.copyOf(train), List.copyOf(heldOut));
    }

    /** Number of ordered pairs in {@code groups}. */
    public static int pairCount(List<PromptGroup> groups) {
        return groups.stream().mapToInt(g -> g.pairs().size()).sum();
    }

    /** Shuffles the groups with {@code random} and cuts them into batches of {@code groupsPerBatch} whole groups. */
    public static List<List<PromptGroup>> batches(List<PromptGroup> groups, int groupsPerBatch, Random random) {
        List<PromptGroup> order = new ArrayList<>(groups);
        Collections.shuffle(order, random);
        List<List<PromptGroup>> out = new ArrayList<>();
        for (int i = 0; i < order.size(); i += groupsPerBatch) {
            out.add(List.copyOf(order.subList(i, Math.min(order.size(), i + groupsPerBatch))));
        }
        return out;
    }
}
