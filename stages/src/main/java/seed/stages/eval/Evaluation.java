package seed.stages.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import seed.stages.tokenizer.Tokenizer;

/**
 * Held-out evaluations that standard tools can reproduce: log-likelihood multiple choice (HellaSwag, ARC, PIQA's
 * shape, scored as lm-evaluation-harness scores them) and perplexity on text. Computed from a {@link TokenScorer},
 * so the same numbers come from the model in process or through {@code seed serve}.
 */
public final class Evaluation {

    /** One multiple-choice item: {@code {"context", "choices": [...], "label": index of the right choice}}. */
    public record Item(String context, List<String> choices, int label) {
    }

    /**
     * Multiple-choice results: accuracy (argmax of the summed log-likelihood of each choice after the context),
     * length-normalised accuracy (lm-eval's acc_norm: log-likelihood divided by the choice's length in characters),
     * and the summed log-likelihood of the right choices (a fine-grained number to compare two scorers by).
     */
    public record MultipleChoice(int items, double accuracy, double accuracyNorm, double correctLogLikelihood) {
    }

    /** Perplexity over {@code tokens} scored tokens: exp of the mean negative log-likelihood. */
    public record Perplexity(long tokens, double negativeLogLikelihood, double perplexity) {
    }

    private Evaluation() {
    }

    /** Reads a JSONL task file, naming the line of a malformed item. */
    public static List<Item> readTask(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<Item> items = new ArrayList<>();
        List<String> lines = Files.readAllLines(file);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            String where = file + ":" + (i + 1);
            JsonNode node = json.readTree(line);
            JsonNode choices = node.get("choices");
            if (!node.path("context").isTextual() || choices == null || !choices.isArray() || choices.size() < 2
                    || !node.path("label").isInt()) {
                throw new IllegalArgumentException(where + ": an item needs \"context\" (string), \"choices\" (at "
                        + "least two strings) and \"label\" (the index of the right choice)");
            }
            List<String> texts = new ArrayList<>();
            choices.forEach(c -> texts.add(c.asText()));
            int label = node.get("label").asInt();
            if (label < 0 || label >= texts.size()) {
                throw new IllegalArgumentException(where + ": label " + label + " is not a choice index");
            }
            items.add(new Item(node.get("context").asText(), texts, label));
        }
        return items;
    }

    /**
     * Scores every choice as a continuation of its context (the two encoded separately and joined, so both
     * scorers see the same tokens; longer than {@code context} tokens: the oldest are dropped, as lm-eval does).
     */
    public static MultipleChoice multipleChoice(TokenScorer scorer, Tokenizer tokenizer, List<Item> items,
            int context) {
        int right = 0;
        int rightNorm = 0;
        double correct = 0;
        for (Item item : items) {
            int[] ctx = tokenizer.encode(item.context());
            double best = Double.NEGATIVE_INFINITY;
            double bestNorm = Double.NEGATIVE_INFINITY;
            int pick = -1;
            int pickNorm = -1;
            for (int c = 0; c < item.choices().size(); c++) {
                String choice = item.choices().get(c);
                int[] cont = tokenizer.encode(choice);
                if (cont.length == 0) {
                    throw new IllegalArgumentException("an empty choice cannot be scored: " + item);
                }
                int[] joined = new int[ctx.length + cont.length];
                System.arraycopy(ctx, 0, joined, 0, ctx.length);
                System.arraycopy(cont, 0, joined, ctx.length, cont.length);
                int start = Math.max(0, joined.length - context);
                int[] window = java.util.Arrays.copyOfRange(joined, start, joined.length);
                double[] lp = scorer.score(window);
                double sum = 0;
                for (int k = Math.max(1, window.length - cont.length); k < window.length; k++) {
                    sum += lp[k];
                }
                if (sum > best) {
                    best = sum;
                    pick = c;
                }
                double norm = sum / Math.max(1, choice.length());
                if (norm > bestNorm) {
                    bestNorm = norm;
                    pickNorm = c;
                }
                if (c == item.label()) {
                    correct += sum;
                }
            }
            right += pick == item.label() ? 1 : 0;
            rightNorm += pickNorm == item.label() ? 1 : 0;
        }
        int n = items.size();
        return new MultipleChoice(n, n == 0 ? 0 : (double) right / n, n == 0 ? 0 : (double) rightNorm / n, correct);
    }

    /**
     * Perplexity of {@code text}: windows of at most {@code context} tokens, each starting at the previous one's
     * last token, so every token after the first is scored once (with up to a window of history).
     */
    public static Perplexity perplexity(TokenScorer scorer, Tokenizer tokenizer, String text, int context) {
        int[] tokens = tokenizer.encode(text);
        if (tokens.length < 2) {
            throw new IllegalArgumentException("perplexity needs at least two tokens of text");
        }
        double nll = 0;
        long scored = 0;
        for (int start = 0; start < tokens.length - 1; start += context - 1) {
            int end = Math.min(tokens.length, start + context);
            double[] lp = scorer.score(java.util.Arrays.copyOfRange(tokens, start, end));
            for (int k = 1; k < lp.length; k++) {
                nll -= lp[k];
                scored++;
            }
        }
        return new Perplexity(scored, nll, Math.exp(nll / scored));
    }
}
