package seed.stages.checks;

import org.junit.jupiter.api.Test;
import seed.stages.rlhf.Evaluator;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kind of check judges as documented, and the spec syntax of --check and the task inputs parses to it. */
class CheckTest {

    @Test
    void everyKindJudgesAsDocumented() {
        String p = "What is 3 plus 4?";
        Check rule = Check.parse("polite-correct");
        assertEquals("rule", rule.name());
        assertTrue(rule.passes(p, "Sure! 3 plus 4 is 7. Happy to help."));
        assertFalse(rule.passes(p, "7."));

        Check digits = Check.parse("has_digit:regex=\\d");
        assertEquals("has_digit", digits.name());
        assertTrue(digits.passes(p, "It is 7."));
        assertFalse(digits.passes(p, "seven"));
        Check noShout = Check.parse("not-regex=[A-Z]{4,}");
        assertEquals("not_regex", noShout.name());
        assertTrue(noShout.passes(p, "Sure, 7."));
        assertFalse(noShout.passes(p, "NOPE, 7."));

        Check clean = Check.parse("safe:no-keywords=idiot, stupid");
        assertTrue(clean.passes(p, "Sure! 7. Happy to help."));
        assertFalse(clean.passes(p, "7, you Idiot."));
        assertTrue(clean.passes(p, "Stupidity aside: 7."), "whole words only");
        Check mentions = Check.parse("keywords=thanks,please");
        assertTrue(mentions.passes(p, "7, thanks!"));
        assertFalse(mentions.passes(p, "7."));

        Check shortAnswer = Check.parse("max-length=5");
        assertEquals("max_length", shortAnswer.name());
        assertTrue(shortAnswer.passes(p, "seven"));
        assertFalse(shortAnswer.passes(p, "seven!"));

        Check json = Check.parse("json");
        assertTrue(json.passes(p, " {\"answer\": 7} "));
        assertTrue(json.passes(p, "[1, 2]"));
        assertFalse(json.passes(p, "{\"answer\": 7"));
        assertFalse(json.passes(p, "{} {}"));
        assertFalse(json.passes(p, ""));
        assertInstanceOf(Check.ValidJson.class, json);
    }

    @Test
    void specsParseAndRefuseWithTheKindsNamed() {
        assertEquals(List.of(), Check.parseAll(List.of("none")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Check.parse("rude"));
        assertTrue(e.getMessage().contains("kinds: polite-correct"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Check.parse("regex"));
        assertThrows(IllegalArgumentException.class, () -> Check.parse("Bad Name:json"));
        assertThrows(IllegalArgumentException.class, () -> Check.evaluator(List.of(Check.parse("json"), Check.parse("json"))));
    }

    @Test
    void theDemoRuleBringsItsThresholdsOthersTheGenericOnes() {
        Evaluator generic = Check.evaluator(List.of(Check.parse("json")));
        assertEquals(Evaluator.generic().collapseBelow(), generic.collapseBelow());
        assertEquals("json", generic.primaryCheck());
        Evaluator demo = Check.evaluator(Check.parseAll(List.of("polite-correct", "max-length=80")));
        assertEquals(0.4, demo.collapseBelow());
        assertEquals(4.0, demo.explodeAbove());
        assertEquals(List.of("rule", "max_length"), demo.checks().stream().map(Evaluator.Check::name).toList());
    }
}
