package seed.annotation;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import seed.annotation.core.Annotator;
import seed.annotation.core.Catalog;
import seed.annotation.core.EventCodec;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.RankingRules;
import seed.annotation.core.Submission;
import seed.annotation.core.SubmitOutcome;
import seed.annotation.core.Tokens;

/**
 * Sends existing preference data through the same Kafka path as human rankings, so it gets the same validation and
 * lineage: each line becomes a prompt, a candidate set (checkpoint "import:FILE" with the file's SHA-256), an item
 * ranked by one "importer" annotator, and a ranking event. Every line is checked before anything is written.
 *
 * <p>Formats: {@code pairs}: {@code {"prompt","chosen","rejected"}}, or without "prompt", conversations given as
 * chosen/rejected texts (or message lists) sharing a prefix, which becomes the prompt; {@code kwise}:
 * {@code {"prompt","responses","ranking","ties"?}}.
 */
public final class Importer {

    /** The two accepted input formats. */
    public enum Format { PAIRS, KWISE }

    /** What an import did. */
    public record Result(int lines, int accepted, List<Long> itemIds) {
    }

    private record Parsed(Catalog.Candidate candidate, List<Integer> ranking, List<RankingEvent.Tie> ties) {
    }

    private Importer() {
    }

    public static Result importFile(Annotation a, Path file, Format format) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        String sha = Tokens.sha256Hex(bytes);
        String checkpoint = "import:" + file.getFileName();
        List<Parsed> parsed = new ArrayList<>();
        String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].isBlank()) {
                continue;
            }
            String where = file + ":" + (i + 1);
            parsed.add(format == Format.PAIRS ? pair(lines[i], where, checkpoint, sha) : kwise(lines[i], where, checkpoint, sha));
        }
        if (parsed.isEmpty()) {
            throw new IllegalArgumentException(file + ": no lines to import");
        }
        Annotator importer = a.catalog().annotatorByName("importer")
                .orElseGet(() -> a.catalog().createAnnotator("importer", "importer").annotator());
        List<Long> ids = a.catalog().createItems(parsed.stream().map(Parsed::candidate).toList(), 1, "import");
        for (long id : ids) {
            a.catalog().assign(id, importer.id());
        }
        int accepted = 0;
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<SubmitOutcome>> fs = new ArrayList<>();
            for (int i = 0; i < ids.size(); i++) {
                Parsed p = parsed.get(i);
                Submission s = new Submission(ids.get(i), p.ranking(), p.ties(), false, List.of());
                fs.add(pool.submit(() -> a.submissions().submit(importer, s, "import")));
            }
            for (int i = 0; i < fs.size(); i++) {
                SubmitOutcome o = fs.get(i).get();
                if (o instanceof SubmitOutcome.Refused r) {
                    throw new IllegalStateException("import of item " + ids.get(i) + " refused: " + r.reason());
                }
                accepted++;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdown();
        }
        return new Result(parsed.size(), accepted, ids);
    }

    private static JsonNode json(String line, String where) {
        try {
            JsonNode n = EventCodec.JSON.readTree(line);
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException(where + ": not a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new IllegalArgumentException(where + ": malformed JSON: " + EventCodec.firstLine(e.getMessage()));
        }
    }

    static Parsed pair(String line, String where, String checkpoint, String sha) {
        JsonNode n = json(line, where);
        JsonNode c = n.get("chosen");
        JsonNode r = n.get("rejected");
        if (c == null || r == null) {
            throw new IllegalArgumentException(where + ": fields \"chosen\" and \"rejected\" are required");
        }
        String prompt;
        String chosen;
        String rejected;
        if (n.hasNonNull("prompt")) {
            if (!n.get("prompt").isTextual() || !c.isTextual() || !r.isTextual()) {
                throw new IllegalArgumentException(where + ": \"prompt\", \"chosen\" and \"rejected\" must be strings");
            }
            prompt = n.get("prompt").textValue();
            chosen = c.textValue();
            rejected = r.textValue();
        } else {
            String cs = conversation(c, where, "chosen");
            String rs = conversation(r, where, "rejected");
            int cut = sharedPrefix(cs, rs);
            prompt = cs.substring(0, cut);
            chosen = cs.substring(cut);
            rejected = rs.substring(cut);
        }
        if (prompt.isBlank()) {
            throw new IllegalArgumentException(where + ": empty prompt (chosen and rejected share no prefix and no \"prompt\" is given)");
        }
        if (chosen.equals(rejected)) {
            throw new IllegalArgumentException(where + ": chosen and rejected are identical");
        }
        return new Parsed(new Catalog.Candidate(prompt, List.of(chosen, rejected), checkpoint, sha, null, 1),
                List.of(0, 1), List.of());
    }

    /** A conversation as text: a string as is, or a message list rendered as "role: content" lines. */
    private static String conversation(JsonNode v, String where, String field) {
        if (v.isTextual()) {
            return v.textValue();
        }
        if (v.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode m : v) {
                if (!m.isObject() || !m.path("role").isTextual() || !m.path("content").isTextual()) {
                    throw new IllegalArgumentException(where + ": \"" + field + "\" messages need string \"role\" and \"content\"");
                }
                sb.append(m.get("role").textValue()).append(": ").append(m.get("content").textValue()).append('\n');
            }
            return sb.toString();
        }
        throw new IllegalArgumentException(where + ": \"" + field + "\" must be a string or a list of messages");
    }

    /**
     * Where the shared prompt ends: after the last "Assistant:" (any case) inside the common prefix when there is one
     * (Anthropic HH style), else at the last line break or space of the common prefix.
     */
    static int sharedPrefix(String a, String b) {
        int n = 0;
        int max = Math.min(a.length(), b.length());
        while (n < max && a.charAt(n) == b.charAt(n)) {
            n++;
        }
        String common = a.substring(0, n);
        int marker = common.toLowerCase().lastIndexOf("assistant:");
        if (marker >= 0) {
            int end = marker + "assistant:".length();
            while (end < n && common.charAt(end) == ' ') {
                end++;
            }
            return end;
        }
        int ws = Math.max(common.lastIndexOf('\n'), common.lastIndexOf(' '));
        return ws < 0 ? 0 : ws + 1;
    }

    static Parsed kwise(String line, String where, String checkpoint, String sha) {
        JsonNode n = json(line, where);
        Catalog.Candidate c;
        try {
            com.fasterxml.jackson.databind.node.ObjectNode copy = n.deepCopy();
            copy.put("checkpoint", checkpoint);
            copy.remove("gold");
            copy.remove("annotators");
            Catalog.Candidate parsed = Catalog.parseCandidatePublic(copy.toString(), where);
            c = new Catalog.Candidate(parsed.prompt(), parsed.responses(), checkpoint, sha, null, 1);
        } catch (Catalog.LoadException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        List<Integer> ranking;
        List<RankingEvent.Tie> ties;
        try {
            ranking = EventCodec.ints(n, "ranking");
            ties = EventCodec.ties(n.get("ties"));
        } catch (EventCodec.DecodeException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage());
        }
        String bad = RankingRules.check(ranking, ties, false, List.of(), c.responses().size());
        if (bad != null) {
            throw new IllegalArgumentException(where + ": " + bad);
        }
        return new Parsed(c, ranking, ties);
    }
}
