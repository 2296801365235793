package seed.reward.data;

import seed.reward.demo.SyntheticPreferences;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.demo.PoliteCorrectRule;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class RankingDataTest {

    @Test
    void kWiseRankingExpandsToAllOrderedPairs() {
        Ranking r = RankingsFile.parseLine("{\"prompt\":\"p\",\"responses\":[\"a\",\"b\",\"c\",\"d\"],\"ranking\":[2,0,3,1]}", 1, "f");
        PromptGroup g = PromptGroup.expand(r);
        assertEquals(6, g.pairs().size());
        assertTrue(g.pairs().contains(new PreferencePair(2, 0)));
        assertTrue(g.pairs().contains(new PreferencePair(2, 1)));
        assertTrue(g.pairs().contains(new PreferencePair(3, 1)));
        assertFalse(g.pairs().contains(new PreferencePair(1, 3)));
    }

    @Test
    void tiesGiveNoPairAndPairwiseIsK2() {
        Ranking r = RankingsFile.parseLine("{\"prompt\":\"p\",\"responses\":[\"a\",\"b\",\"c\"],\"ranking\":[0,1,2],\"ties\":[[2,1]]}", 1, "f");
        assertEquals(List.of(new PreferencePair(0, 1), new PreferencePair(0, 2)), PromptGroup.expand(r).pairs());
        Ranking pw = RankingsFile.parseLine("{\"prompt\":\"p\",\"chosen\":\"good\",\"rejected\":\"bad\"}", 3, "f");
        assertEquals(2, pw.k());
        assertEquals(List.of(new PreferencePair(0, 1)), PromptGroup.expand(pw).pairs());
        assertEquals("good", pw.responses().get(0));
    }

    @Test
    void badLinesFailWithLineAndReason() {
        assertBad("{\"prompt\":\"p\",\"responses\":[\"a\",\"b\"],\"ranking\":[0,0]}", "repeats index 0");
        assertBad("{\"prompt\":\"p\",\"responses\":[\"a\",\"b\"],\"ranking\":[0,2]}", "index 2, out of range");
        assertBad("{\"prompt\":\"p\",\"responses\":[\"a\",\"b\",\"c\"],\"ranking\":[0,1]}", "must be a permutation");
        assertBad("{\"prompt\":\"p\",\"responses\":[\"a\"],\"ranking\":[0]}", "at least 2");
        assertBad("{\"prompt\":\"p\",\"responses\":[\"a\",\"b\"],\"ranking\":[0,1],\"ties\":[[0,5]]}", "\"ties\" has index 5");
        assertBad("{\"prompt\":\"p\",\"chosen\":\"a\"}", "\"rejected\" is missing");
        assertBad("{\"responses\":[\"a\",\"b\"],\"ranking\":[0,1]}", "\"prompt\" is missing");
        assertBad("not json", "not valid JSON");
    }

    private static void assertBad(String line, String expected) {
        RankingFormatException e = assertThrows(RankingFormatException.class, () -> RankingsFile.parseLine(line, 7, "r.jsonl"));
        assertTrue(e.getMessage().startsWith("r.jsonl:7: "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void fileRoundTripAndLineNumbers(@TempDir Path dir) throws Exception {
        List<Ranking> rs = SyntheticPreferences.generate(new SyntheticPreferences.Settings(20, 4, 9, 0.5, 0.3, 0.1, 0.0, 1));
        Path f = dir.resolve("r.jsonl");
        RankingsFile.write(f, rs);
        List<Ranking> back = RankingsFile.read(f);
        assertEquals(20, back.size());
        assertEquals(rs.get(3).responses(), back.get(3).responses());
        assertArrayEquals(rs.get(3).order(), back.get(3).order());
        Files.writeString(f, Files.readString(f) + "\n{\"prompt\":\"x\",\"responses\":[\"a\",\"b\"],\"ranking\":[1]}\n");
        RankingFormatException e = assertThrows(RankingFormatException.class, () -> RankingsFile.read(f));
        assertTrue(e.getMessage().contains(":22: "), e.getMessage());
    }

    @Test
    void syntheticRankingsFollowTheRule() {
        List<Ranking> rs = SyntheticPreferences.generate(SyntheticPreferences.Settings.defaults());
        for (Ranking r : rs) {
            for (PreferencePair p : PromptGroup.expand(r).pairs()) {
                assertTrue(PoliteCorrectRule.score(r.prompt(), r.responses().get(p.better()))
                        > PoliteCorrectRule.score(r.prompt(), r.responses().get(p.worse())), r.toString());
            }
        }
    }

    @Test
    void splitIsByPromptAndBatchesKeepGroupsWhole() {
        List<Ranking> rs = SyntheticPreferences.generate(SyntheticPreferences.Settings.defaults());
        PreferenceData d = PreferenceData.split(rs, 0.2, 3);
        Set<String> trainPrompts = new HashSet<>();
        d.train().forEach(g -> trainPrompts.add(g.prompt()));
        d.heldOut().forEach(g -> assertFalse(trainPrompts.contains(g.prompt()), "prompt on both sides: " + g.prompt()));
        assertFalse(d.heldOut().isEmpty());
        int total = PreferenceData.pairCount(d.train()) + PreferenceData.pairCount(d.heldOut());
        int expected = rs.stream().mapToInt(r -> PromptGroup.expand(r).pairs().size()).sum();
        assertEquals(expected, total);
        var batches = PreferenceData.batches(d.train(), 8, new Random(1));
        assertEquals(d.train().size(), batches.stream().mapToInt(List::size).sum());
    }

    @Test
    void rankingsOfOnePromptMergeIntoOneGroupOverDistinctResponses() {
        Ranking a = RankingsFile.parseLine("{\"prompt\":\"p\",\"responses\":[\"x\",\"y\",\"z\"],\"ranking\":[0,1,2]}", 1, "f");
        Ranking b = RankingsFile.parseLine("{\"prompt\":\"p\",\"responses\":[\"z\",\"x\",\"w\"],\"ranking\":[1,0,2]}", 2, "f");
        Ranking c = RankingsFile.parseLine("{\"prompt\":\"q\",\"chosen\":\"x\",\"rejected\":\"y\"}", 3, "f");
        List<PromptGroup> merged = PreferenceData.mergeByPrompt(List.of(a, b, c));
        assertEquals(2, merged.size());
        PromptGroup p = merged.get(0);
        assertEquals(List.of("x", "y", "z", "w"), p.responses(), "each distinct response once");
        assertEquals(6, p.pairs().size(), "3 + 3 pairs, re-indexed");
        assertTrue(p.pairs().contains(new PreferencePair(0, 2)));  // x > z, from both annotators
        assertEquals(2, p.pairs().stream().filter(x -> x.equals(new PreferencePair(0, 2))).count());
        assertTrue(p.pairs().contains(new PreferencePair(2, 3)));  // z > w, second annotator
        assertEquals(1, p.line());
    }

    @Test
    void unsafeFlagsAreReadWrittenAndMergedPerPrompt(@TempDir Path dir) throws Exception {
        // as annotation snapshots write them: flagged responses last, their indices in "unsafe"
        Ranking a = RankingsFile.parseLine("{\"prompt\":\"p\",\"responses\":[\"x\",\"y\",\"z\"],\"ranking\":[0,2,1],"
                + "\"unsafe\":[1]}", 1, "f");
        Ranking b = RankingsFile.parseLine("{\"prompt\":\"p\",\"responses\":[\"w\",\"y\"],\"ranking\":[0,1]}", 2, "f");
        assertEquals(List.of(1), a.unsafe());
        assertEquals(List.of(), b.unsafe());
        PromptGroup g = PreferenceData.mergeByPrompt(List.of(b, a)).get(0);
        assertEquals(List.of("w", "y", "x", "z"), g.responses());
        assertEquals(Set.of(1), g.unsafe(), "y is flagged in the group, whichever ranking flagged it");
        assertTrue(g.safeOverUnsafe(new PreferencePair(2, 1)));
        assertFalse(g.safeOverUnsafe(new PreferencePair(2, 3)));
        Path file = dir.resolve("r.jsonl");
        RankingsFile.write(file, List.of(a, b));
        assertEquals(List.of(1), RankingsFile.read(file).get(0).unsafe());
        RankingFormatException e = assertThrows(RankingFormatException.class, () -> RankingsFile.parseLine(
                "{\"prompt\":\"p\",\"responses\":[\"x\",\"y\"],\"ranking\":[0,1],\"unsafe\":[2]}", 4, "f"));
        assertTrue(e.getMessage().contains("f:4") && e.getMessage().contains("unsafe"), e.getMessage());
    }

    @Test
    void conversationalPreferencesParseAsTrlWritesThem() {
        String user = "{\"role\":\"user\",\"content\":\"Hi\"}";
        Ranking implicit = RankingsFile.parseLine("{\"chosen\":[" + user + ",{\"role\":\"assistant\",\"content\":\"Hello!\"}],"
                + "\"rejected\":[" + user + ",{\"role\":\"assistant\",\"content\":\"Go away.\"}]}", 4, "f");
        assertEquals("Hi", implicit.prompt());
        assertEquals(List.of("Hello!", "Go away."), implicit.responses());
        Ranking explicit = RankingsFile.parseLine("{\"prompt\":[{\"role\":\"system\",\"content\":\"S\"}," + user + "],"
                + "\"chosen\":[{\"role\":\"assistant\",\"content\":\"a\"}],\"rejected\":\"b\"}", 5, "f");
        assertEquals("System: S\nUser: Hi", explicit.prompt());
        assertEquals(List.of("a", "b"), explicit.responses());
        assertBad("{\"chosen\":[" + user + ",{\"role\":\"assistant\",\"content\":\"a\"}],\"rejected\":[{\"role\":\"user\","
                + "\"content\":\"other\"},{\"role\":\"assistant\",\"content\":\"b\"}]}", "differ only in their last message");
        assertBad("{\"prompt\":\"p\",\"chosen\":[" + user + "],\"rejected\":\"b\"}", "must end with an assistant message");
    }
}
