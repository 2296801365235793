package seed.stages.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.serve.OpenAiServer;
import seed.stages.tokenizer.ByteTokenizer;

/**
 * Multiple choice and perplexity give the same numbers in process and through {@code seed serve}'s
 * {@code /v1/completions} with echo and logprobs (what lm-evaluation-harness's local-completions sends), to 1e-4.
 */
class EvaluationTest {

    private final ByteTokenizer tokenizer = new ByteTokenizer();

    @Test
    void inProcessAndThroughTheServerAgree(@TempDir Path dir) throws Exception {
        Path task = dir.resolve("task.jsonl");
        Files.writeString(task, """
                {"context": "The sky is", "choices": [" blue", " green", " made of cheese"], "label": 0}
                {"context": "2 + 2 =", "choices": [" 4", " 5"], "label": 0}
                {"context": "A cat says", "choices": [" woof", " meow"], "label": 1}

                {"context": "Water is", "choices": [" wet", " dry", " loud", " a long answer that goes on"], "label": 0}
                """);
        List<Evaluation.Item> items = Evaluation.readTask(task);
        assertEquals(4, items.size());
        String text = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer "
                + "the slings and arrows of outrageous fortune.";
        try (Gpt model = Gpt.initialize(new GptConfig(259, 48, 2, 32, 4), 8);
                OpenAiServer server = OpenAiServer.start(model, tokenizer,
                        OpenAiServer.Settings.defaults("m").withPort(0))) {
            int context = model.config().context();
            TokenScorer local = TokenScorer.inProcess(model);
            TokenScorer remote = TokenScorer.server(server.baseUrl(), "m", null);
            Evaluation.MultipleChoice a = Evaluation.multipleChoice(local, tokenizer, items, context);
            Evaluation.MultipleChoice b = Evaluation.multipleChoice(remote, tokenizer, items, context);
            assertEquals(a.accuracy(), b.accuracy());
            assertEquals(a.accuracyNorm(), b.accuracyNorm());
            assertEquals(a.correctLogLikelihood(), b.correctLogLikelihood(), 1e-4);
            // the text is longer than the context: several windows
            Evaluation.Perplexity p = Evaluation.perplexity(local, tokenizer, text, context);
            Evaluation.Perplexity q = Evaluation.perplexity(remote, tokenizer, text, context);
            assertEquals(text.length() - 1, p.tokens(), "every byte after the first scored once");
            assertEquals(p.tokens(), q.tokens());
            assertEquals(p.negativeLogLikelihood(), q.negativeLogLikelihood(), 1e-4);
            assertEquals(p.perplexity(), q.perplexity(), 1e-4 * p.perplexity());
            assertTrue(p.perplexity() > 50 && p.perplexity() < 1000, "an untrained byte model: ~vocabulary size, got "
                    + p.perplexity());
        }
    }

    @Test
    void malformedItemsNameTheirLine(@TempDir Path dir) throws Exception {
        Path task = dir.resolve("bad.jsonl");
        Files.writeString(task, "{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": 0}\n"
                + "{\"context\": \"a\", \"choices\": [\"b\"], \"label\": 0}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Evaluation.readTask(task));
        assertTrue(e.getMessage().contains("bad.jsonl:2"), e.getMessage());
    }
}
