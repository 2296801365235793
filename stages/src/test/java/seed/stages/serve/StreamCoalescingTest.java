package seed.stages.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;

/**
 * A stream whose events are coalesced (many tokens queued when the writer wakes: here forced by a stream interval
 * longer than the answer) tells a client the same as one written token by token: per choice the same text, finish
 * reason and log-probability tokens, every event valid JSON in OpenAI's shape, {@code [DONE]} last; and OpenAI's SDK
 * reads it.
 */
class StreamCoalescingTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static Gpt model;
    private static OpenAiServer perToken;
    private static OpenAiServer coalesced;

    @BeforeAll
    static void start() throws Exception {
        model = Gpt.initialize(new GptConfig(259, 96, 2, 32, 4), 21);
        ByteTokenizer tokenizer = new ByteTokenizer();
        perToken = OpenAiServer.start(model, tokenizer, OpenAiServer.Settings.defaults("tiny").withPort(0));
        coalesced = OpenAiServer.start(model, tokenizer, OpenAiServer.Settings.defaults("tiny").withPort(0)
                .withStreamInterval(1000));
    }

    @AfterAll
    static void stop() {
        perToken.close();
        coalesced.close();
        model.close();
    }

    /** What one choice of a stream said: its text, finish reason and logprobs tokens, and its number of events. */
    private record Said(String text, String finish, List<String> tokens, int events) {
    }

    /** Streams {@code body} from {@code server} with a plain HTTP client and sums up each choice's events. */
    private static Map<Integer, Said> stream(OpenAiServer server, String path, String body) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(server.baseUrl() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        String[] events = response.body().split("\n\n");
        assertEquals("data: [DONE]", events[events.length - 1]);
        Map<Integer, Said> said = new TreeMap<>();
        for (int e = 0; e < events.length - 1; e++) {
            assertTrue(events[e].startsWith("data: {"), events[e]);
            JsonNode chunk = JSON.readTree(events[e].substring(6));
            assertEquals("tiny", chunk.path("model").asText());
            for (JsonNode choice : chunk.path("choices")) {
                int index = choice.path("index").asInt();
                Said before = said.getOrDefault(index, new Said("", null, List.of(), 0));
                String text = choice.has("delta") ? choice.path("delta").path("content").asText("")
                        : choice.path("text").asText();
                List<String> tokens = new ArrayList<>(before.tokens());
                choice.path("logprobs").path("tokens").forEach(t -> tokens.add(t.asText()));
                choice.path("logprobs").path("content").forEach(t -> tokens.add(t.path("token").asText()));
                String finish = choice.path("finish_reason").isNull() ? before.finish()
                        : choice.path("finish_reason").asText();
                said.put(index, new Said(before.text() + text, finish, tokens, before.events() + 1));
            }
        }
        return said;
    }

    private static void assertSameSaid(Map<Integer, Said> expected, Map<Integer, Said> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (int i : expected.keySet()) {
            assertEquals(expected.get(i).text(), actual.get(i).text(), "choice " + i);
            assertEquals(expected.get(i).finish(), actual.get(i).finish(), "choice " + i);
            assertEquals(expected.get(i).tokens(), actual.get(i).tokens(), "choice " + i);
        }
    }

    @Test
    void coalescedCompletionsSayWhatTokenByTokenSays() throws Exception {
        String body = "{\"model\":\"tiny\",\"prompt\":\"ROMEO:\",\"max_tokens\":20,\"n\":3,\"seed\":5,"
                + "\"stream\":true,\"stop\":[\"e\"]}";
        Map<Integer, Said> one = stream(perToken, "/completions", body);
        Map<Integer, Said> many = stream(coalesced, "/completions", body);
        assertSameSaid(one, many);
        int eventsOne = one.values().stream().mapToInt(Said::events).sum();
        int eventsMany = many.values().stream().mapToInt(Said::events).sum();
        assertTrue(eventsMany < eventsOne, "coalesced: " + eventsMany + " events, token by token: " + eventsOne);
    }

    @Test
    void coalescedChatWithLogprobsSaysWhatTokenByTokenSays() throws Exception {
        String body = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi \\\"there\\\"\"}],"
                + "\"max_tokens\":16,\"seed\":9,\"stream\":true,\"logprobs\":true,\"top_logprobs\":2}";
        Map<Integer, Said> one = stream(perToken, "/chat/completions", body);
        assertEquals(16, one.get(0).tokens().size());
        assertSameSaid(one, stream(coalesced, "/chat/completions", body));
        String plain = body.replace(",\"logprobs\":true,\"top_logprobs\":2", ",\"ignore_eos\":true");
        assertSameSaid(stream(perToken, "/chat/completions", plain), stream(coalesced, "/chat/completions", plain));
    }

    @Test
    void theSdkReadsACoalescedStream() {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(coalesced.baseUrl().toString()).apiKey("none")
                .maxRetries(0).build();
        try {
            CompletionCreateParams p = CompletionCreateParams.builder().model("tiny").prompt("JULIET:").maxTokens(24)
                    .seed(3).putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build();
            String whole = client.completions().create(p).choices().get(0).text();
            StringBuilder streamed = new StringBuilder();
            try (StreamResponse<Completion> s = client.completions().createStreaming(p)) {
                s.stream().forEach(c -> c.choices().forEach(ch -> streamed.append(ch.text())));
            }
            assertEquals(whole, streamed.toString());
        } finally {
            client.close();
        }
    }
}
