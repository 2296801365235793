package seed.reward.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import seed.stages.data.ChatFormat;
import seed.stages.data.ChatTemplate;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads and writes rankings JSONL. Each line is either a K-wise ranking
 * {@code {"prompt": ..., "responses": [...], "ranking": [best..worst], "ties": [[i,j],...]}} or a pairwise
 * {@code {"prompt": ..., "chosen": ..., "rejected": ...}}. Optional preference strengths (Llama 2): a K-wise line's
 * {@code "strengths"} (one grade 0..4 per neighbouring pair, as annotation snapshots hold them) or {@code "margins"}
 * (the margins themselves), a pairwise line's {@code "margin"} (TRL's column). A K-wise line's optional
 * {@code "unsafe"} lists the responses annotators flagged unsafe (as annotation snapshots write it). As in TRL's conversational formats, the prompt may be a list
 * of {role, content} messages, a response may be a message list ending with the assistant's message, and
 * {@code chosen}/{@code rejected} may be whole conversations with an implicit prompt (what they share); conversations
 * are rendered by the one {@link ChatTemplate}. Every line is validated up front, so a bad file fails with its line
 * number before any training starts (and so before anything is written).
 */
public final class RankingsFile {

    private static final ObjectMapper JSON = new ObjectMapper();

    private RankingsFile() {
    }

    /** Parses and validates every line; blank lines are skipped. Throws {@link RankingFormatException}. */
    public static List<Ranking> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new RankingFormatException("rankings file " + file + " does not exist or is not a file");
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<Ranking> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String text = lines.get(i).strip();
            if (!text.isEmpty()) {
                out.add(parseLine(text, i + 1, file.toString()));
            }
        }
        if (out.isEmpty()) {
            throw new RankingFormatException(file + ": no rankings in the file");
        }
        return out;
    }

    /** Parses one JSONL line; {@code source} and {@code line} only feed error messages. */
    public static Ranking parseLine(String text, int line, String source) {
        String where = source + ":" + line + ": ";
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new RankingFormatException(where + "not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isObject()) {
            throw new RankingFormatException(where + "expected a JSON object");
        }
        String loc = source + ":" + line;
        if (node.has("chosen") || node.has("rejected")) {
            if (node.has("responses") || node.has("ranking")) {
                throw new RankingFormatException(where + "mixes pairwise fields (chosen/rejected) with K-wise fields (responses/ranking)");
            }
            Ranking pair = !node.has("prompt") && node.path("chosen").isArray() && node.path("rejected").isArray()
                    ? implicitPrompt(node, line, where, loc)
                    : Ranking.pairwise(conversation(node, where, loc), response(node, "chosen", where, loc),
                            response(node, "rejected", where, loc), line);
            return node.has("margin") ? pair.withMargins(new double[] {trlMargin(node.get("margin"), where)}) : pair;
        }
        List<ChatTemplate.Message> conversation = conversation(node, where, loc);
        String prompt = ChatTemplate.render(conversation);
        JsonNode responsesNode = node.get("responses");
        if (responsesNode == null || !responsesNode.isArray()) {
            throw new RankingFormatException(where + "field \"responses\" must be an array of strings (or give \"chosen\" and \"rejected\")");
        }
        List<String> responses = new ArrayList<>();
        for (JsonNode r : responsesNode) {
            if (r.isArray()) {
                responses.add(lastContent(r, where, loc, "responses"));
            } else if (!r.isTextual()) {
                throw new RankingFormatException(where + "field \"responses\" must hold only strings (or message lists)");
            } else {
                responses.add(r.asText());
            }
        }
        int k = responses.size();
        if (k < 2) {
            throw new RankingFormatException(where + "field \"responses\" has " + k + " response(s); a ranking needs at least 2");
        }
        JsonNode rankingNode = node.get("ranking");
        if (rankingNode == null || !rankingNode.isArray()) {
            throw new RankingFormatException(where + "field \"ranking\" must be an array of response indices, best first");
        }
        int[] order = new int[rankingNode.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = index(rankingNode.get(i), k, where, "ranking");
        }
        if (order.length != k) {
            throw new RankingFormatException(where + "field \"ranking\" has " + order.length + " indices but there are " + k
                    + " responses; it must be a permutation of 0.." + (k - 1));
        }
        boolean[] seen = new boolean[k];
        for (int idx : order) {
            if (seen[idx]) {
                throw new RankingFormatException(where + "field \"ranking\" repeats index " + idx + "; it must be a permutation of 0.." + (k - 1));
            }
            seen[idx] = true;
        }
        List<int[]> ties = new ArrayList<>();
        JsonNode tiesNode = node.get("ties");
        if (tiesNode != null && !tiesNode.isNull()) {
            if (!tiesNode.isArray()) {
                throw new RankingFormatException(where + "field \"ties\" must be an array of [i, j] pairs");
            }
            for (JsonNode t : tiesNode) {
                if (!t.isArray() || t.size() != 2) {
                    throw new RankingFormatException(where + "field \"ties\" must hold [i, j] pairs of two indices");
                }
                int a = index(t.get(0), k, where, "ties");
                int b = index(t.get(1), k, where, "ties");
                if (a == b) {
                    throw new RankingFormatException(where + "field \"ties\" pairs index " + a + " with itself");
                }
                ties.add(new int[] {a, b});
            }
        }
        Ranking ranking = new Ranking(prompt, responses, order, ties, line, conversation);
        JsonNode unsafeNode = node.get("unsafe");
        if (unsafeNode != null && !unsafeNode.isNull()) {
            if (!unsafeNode.isArray()) {
                throw new RankingFormatException(where + "field \"unsafe\" must be an array of response indices");
            }
            List<Integer> flagged = new ArrayList<>();
            for (JsonNode u : unsafeNode) {
                flagged.add(index(u, k, where, "unsafe"));
            }
            ranking = ranking.withUnsafe(flagged);
        }
        if (node.has("strengths") && node.has("margins")) {
            throw new RankingFormatException(where + "give \"strengths\" or \"margins\", not both");
        }
        if (node.has("strengths") && !node.get("strengths").isNull()) {
            return ranking.withMargins(strengthMargins(node.get("strengths"), ranking, where));
        }
        if (node.has("margins") && !node.get("margins").isNull()) {
            return ranking.withMargins(explicitMargins(node.get("margins"), k, where));
        }
        return ranking;
    }

    /**
     * {@code "strengths"}: one preference strength per neighbouring pair of the ranking (Llama 2's grades as Seed's
     * annotation page stores them, {@link PreferenceStrength}), 0 ("tie") exactly for tied neighbours.
     */
    private static double[] strengthMargins(JsonNode node, Ranking r, String where) {
        int[] order = r.order();
        if (!node.isArray() || node.size() != order.length - 1) {
            throw new RankingFormatException(where + "field \"strengths\" must be an array of " + (order.length - 1)
                    + " integers, one per neighbouring pair of the ranking (0 tie .. 4 significantly better)");
        }
        double[] out = new double[order.length - 1];
        for (int p = 0; p < out.length; p++) {
            JsonNode v = node.get(p);
            if (!v.isIntegralNumber() || v.asInt() < 0 || v.asInt() > PreferenceStrength.SIGNIFICANTLY_BETTER) {
                throw new RankingFormatException(where + "field \"strengths\" has " + v + " for pair " + (p + 1)
                        + "; each must be an integer 0..4 (" + String.join(", ", PreferenceStrength.NAMES) + ")");
            }
            boolean tied = r.tied(order[p], order[p + 1]);
            if (tied != (v.asInt() == 0)) {
                throw new RankingFormatException(where + "field \"strengths\" grades pair " + (p + 1) + " (" + order[p]
                        + " vs " + order[p + 1] + ") " + PreferenceStrength.NAMES.get(v.asInt()) + " but the pair is "
                        + (tied ? "" : "not ") + "tied");
            }
            out[p] = PreferenceStrength.llama2Margin(v.asInt());
        }
        return out;
    }

    /** {@code "margins"}: an explicit margin (a number >= 0) per neighbouring pair, as {@link #write} saves them. */
    private static double[] explicitMargins(JsonNode node, int k, String where) {
        if (!node.isArray() || node.size() != k - 1) {
            throw new RankingFormatException(where + "field \"margins\" must be an array of " + (k - 1)
                    + " numbers, one per neighbouring pair of the ranking");
        }
        double[] out = new double[k - 1];
        for (int p = 0; p < out.length; p++) {
            out[p] = trlMargin(node.get(p), where);
        }
        return out;
    }

    /** A margin number (TRL's {@code margin} column of a chosen/rejected line): finite and >= 0. */
    private static double trlMargin(JsonNode v, String where) {
        if (v == null || !v.isNumber() || !(v.asDouble() >= 0) || Double.isInfinite(v.asDouble())) {
            throw new RankingFormatException(where + "a margin must be a finite number >= 0 (Llama 2's margin of the"
                    + " preference strength), got " + v);
        }
        return v.asDouble();
    }

    /** The prompt: a string (one user message), or a list of messages. */
    private static List<ChatTemplate.Message> conversation(JsonNode node, String where, String loc) {
        if (node.path("prompt").isArray()) {
            try {
                return ChatTemplate.messages(node.get("prompt"), loc, "prompt");
            } catch (IllegalArgumentException e) {
                throw new RankingFormatException(e.getMessage());
            }
        }
        return ChatFormat.userTurn(text(node, "prompt", where));
    }

    /** A response: a string, or a message list whose last message is the assistant's response. */
    private static String response(JsonNode node, String field, String where, String loc) {
        if (node.path(field).isArray()) {
            return lastContent(node.get(field), where, loc, field);
        }
        return text(node, field, where);
    }

    private static String lastContent(JsonNode list, String where, String loc, String field) {
        List<ChatTemplate.Message> turns;
        try {
            turns = ChatTemplate.messages(list, loc, field);
        } catch (IllegalArgumentException e) {
            throw new RankingFormatException(e.getMessage());
        }
        ChatTemplate.Message last = turns.get(turns.size() - 1);
        if (!last.role().equals("assistant")) {
            throw new RankingFormatException(where + "field \"" + field + "\" must end with an assistant message (the response)");
        }
        return last.content();
    }

    /**
     * TRL's implicit-prompt preference line: {@code chosen} and {@code rejected} are whole conversations that share
     * everything but the last (assistant) message, which is the response; the shared part is the prompt.
     */
    private static Ranking implicitPrompt(JsonNode node, int line, String where, String loc) {
        List<ChatTemplate.Message> chosen, rejected;
        try {
            chosen = ChatTemplate.messages(node.get("chosen"), loc, "chosen");
            rejected = ChatTemplate.messages(node.get("rejected"), loc, "rejected");
        } catch (IllegalArgumentException e) {
            throw new RankingFormatException(e.getMessage());
        }
        if (chosen.size() < 2 || chosen.size() != rejected.size()
                || !chosen.subList(0, chosen.size() - 1).equals(rejected.subList(0, rejected.size() - 1))) {
            throw new RankingFormatException(where + "without \"prompt\", \"chosen\" and \"rejected\" must be conversations "
                    + "that differ only in their last message (the implicit prompt is what they share)");
        }
        return Ranking.pairwise(chosen.subList(0, chosen.size() - 1), lastContent(node.get("chosen"), where, loc, "chosen"),
                lastContent(node.get("rejected"), where, loc, "rejected"), line);
    }

    private static String text(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new RankingFormatException(where + "field \"" + field + "\" is missing or not a string");
        }
        if (field.equals("prompt") && v.asText().isBlank()) {
            throw new RankingFormatException(where + "field \"prompt\" is empty");
        }
        return v.asText();
    }

    private static int index(JsonNode v, int k, String where, String field) {
        if (v == null || !v.isIntegralNumber()) {
            throw new RankingFormatException(where + "field \"" + field + "\" must hold integer indices");
        }
        int idx = v.asInt();
        if (idx < 0 || idx >= k) {
            throw new RankingFormatException(where + "field \"" + field + "\" has index " + idx + ", out of range 0.." + (k - 1));
        }
        return idx;
    }

    /** Writes rankings as K-wise JSONL atomically (temp file, then rename). */
    public static void write(Path file, List<Ranking> rankings) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
        try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            for (Ranking r : rankings) {
                ObjectNode o = JSON.createObjectNode();
                o.put("prompt", r.prompt());
                ArrayNode resp = o.putArray("responses");
                r.responses().forEach(resp::add);
                ArrayNode rank = o.putArray("ranking");
                for (int i : r.order()) {
                    rank.add(i);
                }
                if (!r.ties().isEmpty()) {
                    ArrayNode ties = o.putArray("ties");
                    for (int[] t : r.ties()) {
                        ties.addArray().add(t[0]).add(t[1]);
                    }
                }
                if (r.margins().length > 0) {
                    ArrayNode margins = o.putArray("margins");
                    for (double m : r.margins()) {
                        margins.add(m);
                    }
                }
                if (!r.unsafe().isEmpty()) {
                    ArrayNode unsafe = o.putArray("unsafe");
                    r.unsafe().forEach(unsafe::add);
                }
                w.write(JSON.writeValueAsString(o));
                w.newLine();
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
