package seed.stages.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;

/**
 * {@code seed serve --alias}'s swap: a request running when the model is swapped finishes on the model it started
 * on, in full; the next request is answered by the new model, which {@code /v1/models} names; the old model is
 * closed once its last request ended (its decode loop stops, so it no longer takes requests).
 */
class ModelSwapTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final GptConfig SHAPE = new GptConfig(259, 96, 2, 32, 4);
    private static final ByteTokenizer TOKENIZER = new ByteTokenizer();

    @Test
    void aSwapBetweenRequestsServesTheNewModelAndLetsRunningOnesFinish() throws Exception {
        Gpt first = Gpt.initialize(SHAPE, 21);
        OpenAiServer.Settings settings = OpenAiServer.Settings.defaults("production").withPort(0);
        try (OpenAiServer server = OpenAiServer.startOwning("production@aaaa", first, TOKENIZER, settings);
             Gpt reference = Gpt.initialize(SHAPE, 22);
             OpenAiServer alone = OpenAiServer.start(reference, TOKENIZER, settings.withPort(0))) {
            HttpClient http = HttpClient.newHttpClient();
            String before = greedy(http, server, "production", 12);
            assertEquals("production@aaaa", models(http, server));

            // a long request in flight while the swap happens
            CompletableFuture<HttpResponse<String>> running = http.sendAsync(post(server, "{\"model\":\"production\","
                    + "\"prompt\":\"Once upon\",\"max_tokens\":80,\"temperature\":0,\"ignore_eos\":true}"),
                    HttpResponse.BodyHandlers.ofString());
            Thread.sleep(50);
            server.swap("production@bbbb", Gpt.initialize(SHAPE, 22), TOKENIZER);
            assertEquals("production@bbbb", models(http, server));

            HttpResponse<String> finished = running.get();
            assertEquals(200, finished.statusCode(), finished.body());
            JsonNode usage = JSON.readTree(finished.body()).path("usage");
            assertEquals(80, usage.path("completion_tokens").asInt(), finished.body());

            String after = greedy(http, server, "production", 12);
            assertNotEquals(before, after, "the new model answers");
            assertEquals(greedy(http, alone, "production", 12), after, "exactly as the new model alone does");
            // both the alias and the current id are accepted; the old id is gone
            assertEquals(200, http.send(post(server, body("production@bbbb", 2)),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
            assertEquals(404, http.send(post(server, body("production@aaaa", 2)),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
            assertTrue(server.stats().contains("steps="), server.stats());
        }
    }

    private static String body(String model, int tokens) {
        return "{\"model\":\"" + model + "\",\"prompt\":\"The cat sat\",\"max_tokens\":" + tokens
                + ",\"temperature\":0}";
    }

    private static HttpRequest post(OpenAiServer server, String json) {
        return HttpRequest.newBuilder(URI.create(server.baseUrl() + "/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build();
    }

    private static String greedy(HttpClient http, OpenAiServer server, String model, int tokens) throws Exception {
        HttpResponse<String> r = http.send(post(server, body(model, tokens)), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body()).path("choices").path(0).path("text").asText();
    }

    private static String models(HttpClient http, OpenAiServer server) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/models")).build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body()).path("data").path(0).path("id").asText();
    }
}
