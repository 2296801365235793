package seed.reward;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import seed.reward.data.PreferencePair;
import seed.reward.data.PromptGroup;
import seed.stages.demo.PoliteCorrectRule;

/**
 * A reward model's pairwise accuracy on ranked groups, per kind of pair ("POLITE_CORRECT > CURT_WRONG", ...) by the
 * program rule: the tests and the reward-model experiment read which pairs it gets right, not only how many.
 */
final class PairAccuracy {

    /** [right, total] per "better category > worse category", sorted by key. */
    final Map<String, int[]> byCategory = new TreeMap<>();

    private PairAccuracy() {
    }

    static PairAccuracy of(RewardModel model, List<PromptGroup> groups) {
        PairAccuracy out = new PairAccuracy();
        for (PromptGroup g : groups) {
            float[] scores = model.score(Collections.nCopies(g.responses().size(), g.prompt()), g.responses());
            for (PreferencePair p : g.pairs()) {
                String key = PoliteCorrectRule.classify(g.prompt(), g.responses().get(p.better())) + " > "
                        + PoliteCorrectRule.classify(g.prompt(), g.responses().get(p.worse()));
                int[] c = out.byCategory.computeIfAbsent(key, k -> new int[2]);
                c[0] += scores[p.better()] > scores[p.worse()] ? 1 : 0;
                c[1]++;
            }
        }
        return out;
    }

    int right() {
        return byCategory.values().stream().mapToInt(c -> c[0]).sum();
    }

    int pairs() {
        return byCategory.values().stream().mapToInt(c -> c[1]).sum();
    }

    double accuracy() {
        return (double) right() / pairs();
    }

    /** One line per kind of pair, "prefix KIND right/total". */
    void print(String prefix) {
        byCategory.forEach((k, c) -> System.out.printf("%s%-32s %d/%d%n", prefix, k, c[0], c[1]));
    }
}
