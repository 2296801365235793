package seed.stages.checks;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import seed.stages.demo.PoliteCorrectRule;
import seed.stages.rlhf.Evaluator;
import seed.stages.rlhf.VerifiableRewards;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A named, configured program check of a (prompt, response): the independent measure of an alignment run (a
 * reward-hacked policy fools the reward model, not these). A closed set, so every kind is parsed, documented and
 * tested in one place; {@link #name()} becomes the metric {@code <name>_rate}. Written on the command line and in
 * task inputs as {@code [name:]kind[=argument]} ({@link #parse}).
 */
public sealed interface Check {

    /** The metric name (lower-case identifier). */
    String name();

    /** True when {@code response} (its text, without the end token) passes for {@code prompt}. */
    boolean passes(String prompt, String response);

    /** The demo task's rule: polite and arithmetically correct ({@link PoliteCorrectRule}); metric {@code rule}. */
    record PoliteCorrect(String name) implements Check {
        public PoliteCorrect {
            name = checkName(name);
        }

        @Override
        public boolean passes(String prompt, String response) {
            return PoliteCorrectRule.politeAndCorrect(prompt, response);
        }
    }

    /** A regular expression that must be found in the response ({@code mustMatch}) or must not be. */
    record Regex(String name, Pattern pattern, boolean mustMatch) implements Check {
        public Regex {
            name = checkName(name);
        }

        @Override
        public boolean passes(String prompt, String response) {
            return pattern.matcher(response).find() == mustMatch;
        }
    }

    /**
     * A keyword list, matched as whole words ignoring case: {@code forbidden} (e.g. an offensive-word list) passes
     * when none occurs, otherwise when at least one does.
     */
    record Keywords(String name, List<String> words, boolean forbidden) implements Check {
        public Keywords {
            name = checkName(name);
            words = List.copyOf(words);
            if (words.isEmpty()) {
                throw new IllegalArgumentException("check " + name + ": the keyword list is empty");
            }
        }

        @Override
        public boolean passes(String prompt, String response) {
            String text = response.toLowerCase(Locale.ROOT);
            boolean any = words.stream().anyMatch(w -> Pattern.compile("(?<![\\p{L}\\p{N}])"
                    + Pattern.quote(w.toLowerCase(Locale.ROOT)) + "(?![\\p{L}\\p{N}])").matcher(text).find());
            return forbidden != any;
        }
    }

    /** At most {@code characters} characters (code points). */
    record MaxLength(String name, int characters) implements Check {
        public MaxLength {
            name = checkName(name);
            if (characters <= 0) {
                throw new IllegalArgumentException("check " + name + ": the maximum length must be positive, got " + characters);
            }
        }

        @Override
        public boolean passes(String prompt, String response) {
            return response.codePointCount(0, response.length()) <= characters;
        }
    }

    /** The whole response (surrounding white space aside) is one JSON value. */
    record ValidJson(String name) implements Check {
        private static final ObjectMapper JSON = new ObjectMapper();

        public ValidJson {
            name = checkName(name);
        }

        @Override
        public boolean passes(String prompt, String response) {
            try (JsonParser p = JSON.createParser(response.strip())) {
                if (p.nextToken() == null) {
                    return false;
                }
                p.skipChildren();
                return p.nextToken() == null;
            } catch (IOException e) {
                return false;
            }
        }
    }

    /** The trainer's form of this check. */
    default Evaluator.Check toEvaluatorCheck() {
        return new Evaluator.Check(name(), this::passes);
    }

    /**
     * The evaluator of these checks: the generic guard thresholds, or the demo task's (tuned to its short and long
     * answers) when the demo rule is among them.
     */
    static Evaluator evaluator(List<Check> checks) {
        Evaluator base = checks.stream().anyMatch(c -> c instanceof PoliteCorrect) ? PoliteCorrectRule.evaluator()
                : Evaluator.generic();
        return base.withChecks(checks.stream().map(Check::toEvaluatorCheck).toList());
    }

    /**
     * Parses {@code [name:]kind[=argument]}: {@code polite-correct} (metric {@code rule}), {@code regex=PATTERN},
     * {@code not-regex=PATTERN}, {@code keywords=w1,w2} (at least one), {@code no-keywords=w1,w2} (none),
     * {@code max-length=N}, {@code json}. Without {@code name:} the metric is the kind with '_' for '-'.
     */
    static Check parse(String spec) {
        int eq = spec.indexOf('=');
        String head = eq < 0 ? spec : spec.substring(0, eq);
        String arg = eq < 0 ? null : spec.substring(eq + 1);
        String name = null;
        String kind = head;
        int colon = head.indexOf(':');
        if (colon >= 0) {
            name = head.substring(0, colon);
            kind = head.substring(colon + 1);
        }
        kind = kind.strip().toLowerCase(Locale.ROOT);
        String metric = name != null ? name : kind.equals("polite-correct") ? "rule" : kind.replace('-', '_');
        try {
            return switch (kind) {
                case "polite-correct" -> new PoliteCorrect(metric);
                case "regex", "not-regex" -> new Regex(metric, Pattern.compile(required(arg, spec)), kind.equals("regex"));
                case "keywords", "no-keywords" -> new Keywords(metric, words(required(arg, spec)), kind.equals("no-keywords"));
                case "max-length" -> new MaxLength(metric, Integer.parseInt(required(arg, spec).strip()));
                case "json" -> new ValidJson(metric);
                default -> throw new IllegalArgumentException("unknown kind '" + kind + "'");
            };
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("--check '" + spec + "': " + e.getMessage() + " (kinds: polite-correct, "
                    + "regex=PATTERN, not-regex=PATTERN, keywords=w1,w2, no-keywords=w1,w2, max-length=N, json; an "
                    + "optional 'name:' prefix names the metric)", e);
        }
    }

    /** Parses every spec; "none" (or nothing) is no checks. */
    static List<Check> parseAll(List<String> specs) {
        List<Check> out = new ArrayList<>();
        for (String s : specs) {
            if (!s.isBlank() && !s.strip().equalsIgnoreCase("none")) {
                out.add(parse(s.strip()));
            }
        }
        return out;
    }

    /**
     * Verifiable rewards from {@code NAME=WEIGHT} or {@code SPEC=WEIGHT} entries ({@code --reward-check}; split at the
     * last '='): NAME refers to one of the {@code configured} checks, anything else is parsed as a check spec
     * ({@link #parse}), e.g. {@code unsafe:no-keywords=idiot,moron=1.0}. A positive weight rewards passing
     * ({@link VerifiableRewards}). "none" (or nothing) is none.
     */
    static VerifiableRewards rewards(List<String> entries, List<Check> configured) {
        Map<String, Double> weights = new LinkedHashMap<>();
        for (String e : entries) {
            String entry = e.strip();
            if (entry.isEmpty() || entry.equalsIgnoreCase("none")) {
                continue;
            }
            int eq = entry.lastIndexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--reward-check '" + entry + "': expected NAME=WEIGHT (a --check's "
                        + "name) or SPEC=WEIGHT (a check spec), e.g. unsafe=1.0 or unsafe:no-keywords=idiot,moron=1.0");
            }
            String weight = entry.substring(eq + 1).strip();
            try {
                weights.put(entry.substring(0, eq).strip(), Double.parseDouble(weight));
            } catch (NumberFormatException x) {
                throw new IllegalArgumentException("--reward-check '" + entry + "': the weight after the last '=' is not "
                        + "a number: '" + weight + "'");
            }
        }
        return rewards(weights, configured);
    }

    /** As {@link #rewards(List, List)} from a map of check name or spec to weight (the Kestra task's input). */
    static VerifiableRewards rewards(Map<String, Double> weights, List<Check> configured) {
        List<VerifiableRewards.Term> terms = new ArrayList<>();
        for (Map.Entry<String, Double> w : weights.entrySet()) {
            String ref = w.getKey().strip();
            Check check = configured.stream().filter(c -> c.name().equals(ref)).findFirst().orElse(null);
            if (check == null) {
                check = parse(ref);
                String name = check.name();
                if (configured.stream().anyMatch(c -> c.name().equals(name))) {
                    throw new IllegalArgumentException("reward check '" + ref + "' is named " + name + " like a "
                            + "configured check with another definition; refer to it by name or rename it");
                }
            }
            if (w.getValue() == null) {
                throw new IllegalArgumentException("reward check '" + ref + "' has no weight");
            }
            try {
                terms.add(new VerifiableRewards.Term(check.toEvaluatorCheck(), w.getValue()));
            } catch (IllegalArgumentException x) {
                throw new IllegalArgumentException("reward check '" + ref + "': " + x.getMessage(), x);
            }
        }
        return new VerifiableRewards(terms);
    }

    private static String required(String arg, String spec) {
        if (arg == null || arg.isEmpty()) {
            throw new IllegalArgumentException("needs an argument after '='");
        }
        return arg;
    }

    private static List<String> words(String list) {
        return List.of(list.split(",")).stream().map(String::strip).filter(w -> !w.isEmpty()).toList();
    }

    /** Names are metric keys: lower-case identifiers. */
    private static String checkName(String name) {
        if (name == null || !name.matches("[a-z][a-z0-9_]*")) {
            throw new IllegalArgumentException("check names are lower-case identifiers (metric keys), got '" + name + "'");
        }
        return name;
    }
}
