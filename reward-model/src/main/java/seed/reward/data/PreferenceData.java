package seed.reward.data;

import seed.stages.data.ChatTemplate;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Rankings merged into one group per prompt, split into train and held-out sets BY PROMPT (every ranking of a prompt
 * lands on the same side, so held-out accuracy measures generalisation to unseen prompts), and cut into batches of
 * whole groups. Several annotators' rankings of one prompt become ONE group: its distinct responses are scored once
 * per step and every annotator's pairs share those scores (pairs two annotators agree on count twice; pairs they
 * disagree on pull both ways), so the same completions never appear in several batches of an epoch.
 */
public record PreferenceData(List<PromptGroup> train, List<PromptGroup> heldOut) {

    /**
     * Merges, expands and splits. A prompt goes to the held-out side with probability {@code heldOutFraction} (a
     * seeded shuffle of the distinct prompts, so the split is reproducible). Groups that yield no pair (all tied) are
     * dropped.
     */
    public static PreferenceData split(List<Ranking> rankings, double heldOutFraction, long seed) {
        if (heldOutFraction < 0 || heldOutFraction >= 1) {
            throw new IllegalArgumentException("held-out fraction must be in [0, 1), got " + heldOutFraction);
        }
        List<PromptGroup> merged = mergeByPrompt(rankings);
        List<String> prompts = new ArrayList<>();
        merged.forEach(g -> prompts.add(g.prompt()));
        Collections.shuffle(prompts, new Random(seed));
        int nHeld = (int) Math.round(prompts.size() * heldOutFraction);
        if (heldOutFraction > 0 && nHeld == 0 && prompts.size() > 1) {
            nHeld = 1;
        }
        Set<String> held = new HashSet<>(prompts.subList(0, nHeld));
        List<PromptGroup> train = new ArrayList<>(), heldOut = new ArrayList<>();
        for (PromptGroup g : merged) {
            (held.contains(g.prompt()) ? heldOut : train).add(g);
        }
        return new PreferenceData(List.copyOf(train), List.copyOf(heldOut));
    }

    /**
     * One group per distinct prompt (in order of first appearance): the union of the distinct responses of its
     * rankings, and all their pairs re-indexed into it. Groups without any pair are left out.
     */
    public static List<PromptGroup> mergeByPrompt(List<Ranking> rankings) {
        Map<String, List<String>> responses = new LinkedHashMap<>();
        Map<String, List<PreferencePair>> pairs = new LinkedHashMap<>();
        Map<String, Integer> lines = new LinkedHashMap<>();
        Map<String, Integer> counts = new LinkedHashMap<>();
        Map<String, List<ChatTemplate.Message>> conversations = new LinkedHashMap<>();
        Map<String, java.util.Set<Integer>> unsafe = new LinkedHashMap<>();
        for (Ranking r : rankings) {
            conversations.putIfAbsent(r.prompt(), r.conversation());
            List<String> known = responses.computeIfAbsent(r.prompt(), p -> new ArrayList<>());
            lines.putIfAbsent(r.prompt(), r.line());
            counts.merge(r.prompt(), 1, Integer::sum);
            int[] index = new int[r.k()];
            for (int i = 0; i < r.k(); i++) {
                int at = known.indexOf(r.responses().get(i));
                if (at < 0) {
                    known.add(r.responses().get(i));
                    at = known.size() - 1;
                }
                index[i] = at;
            }
            java.util.Set<Integer> flagged = unsafe.computeIfAbsent(r.prompt(), p -> new java.util.TreeSet<>());
            r.unsafe().forEach(u -> flagged.add(index[u]));
            List<PreferencePair> into = pairs.computeIfAbsent(r.prompt(), p -> new ArrayList<>());
            for (PreferencePair p : PromptGroup.expand(r).pairs()) {
                if (index[p.better()] != index[p.worse()]) { // the same text twice in one ranking carries no preference
                    into.add(new PreferencePair(index[p.better()], index[p.worse()], p.margin()));
                }
            }
        }
        List<PromptGroup> out = new ArrayList<>();
        for (var e : responses.entrySet()) {
            List<PreferencePair> ps = pairs.get(e.getKey());
            if (!ps.isEmpty()) {
                out.add(new PromptGroup(e.getKey(), e.getValue(), ps, lines.get(e.getKey()), counts.get(e.getKey()),
                        conversations.get(e.getKey()), unsafe.get(e.getKey())));
            }
        }
        return out;
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
