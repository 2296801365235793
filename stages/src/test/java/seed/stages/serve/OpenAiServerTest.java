package seed.stages.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import seed.stages.data.ChatTemplate;
import seed.stages.generate.Generation;
import seed.stages.generate.Generator;
import seed.stages.generate.SamplingSettings;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.model.NoGrad;
import seed.stages.tokenizer.ByteTokenizer;

/**
 * {@code seed serve} through OpenAI's official Java SDK, unmodified, against a real server on a free port with a
 * tiny model initialised here. Texts are compared with what {@link Generator} produces in-process from the same
 * prompt, settings and seed: the server must sample what {@code seed generate} samples, penalties included.
 */
class OpenAiServerTest {

    private static final String NAME = "tiny";
    private static final String KEY = "sk-test-key";
    private static final ByteTokenizer TOKENIZER = new ByteTokenizer();
    private static Gpt model;
    private static OpenAiServer server;
    private static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        model = Gpt.initialize(new GptConfig(259, 96, 2, 32, 4), 21);
        server = OpenAiServer.start(model, TOKENIZER, OpenAiServer.Settings.defaults(NAME).withPort(0)
                .withApiKeys(Set.of(KEY)));
        client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl().toString()).apiKey(KEY).maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
        model.close();
    }

    /** What the in-process generator makes of a completion prompt with these settings. */
    private static Generation local(String prompt, SamplingSettings settings) {
        synchronized (OpenAiServerTest.class) { // the model is also used by the server's loop thread
            return new Generator(model, TOKENIZER).generate(List.of(TOKENIZER.encode(prompt)), settings).get(0);
        }
    }

    private static SamplingSettings greedy(int tokens) {
        return new SamplingSettings(0f, 0, 1f, tokens, List.of(), 0, true);
    }

    private static String complete(String prompt, int tokens, double temperature, long seed,
            Map<String, Object> extra) {
        CompletionCreateParams.Builder p = CompletionCreateParams.builder().model(NAME).prompt(prompt)
                .maxTokens(tokens).temperature(temperature).seed(seed);
        extra.forEach((k, v) -> p.putAdditionalBodyProperty(k, JsonValue.from(v)));
        return client.completions().create(p.build()).choices().get(0).text();
    }

    @Test
    void listsTheModel() {
        List<String> ids = client.models().list().data().stream().map(m -> m.id()).toList();
        assertEquals(List.of(NAME), ids);
    }

    @Test
    void completionWithLogprobsAndEchoScoresThePromptAsTheModelDoes() {
        String prompt = "The cat sat";
        Completion c = client.completions().create(CompletionCreateParams.builder().model(NAME).prompt(prompt)
                .maxTokens(5).temperature(0.0).logprobs(3).echo(true).build());
        CompletionChoice choice = c.choices().get(0);
        assertTrue(choice.text().startsWith(prompt), choice.text());
        assertEquals(greedy(5).maxNewTokens(), c.usage().orElseThrow().completionTokens());
        assertEquals(prompt + local(prompt, greedy(5)).text(), choice.text());
        CompletionChoice.Logprobs lp = choice.logprobs().orElseThrow();
        List<Double> values = lp.tokenLogprobs().orElseThrow();
        assertEquals(prompt.length() + 5, values.size());
        assertNull(values.get(0), "nothing predicts the first prompt token");
        assertEquals(prompt.length() + 5, lp.topLogprobs().orElseThrow().size());
        assertEquals(3, lp.topLogprobs().orElseThrow().get(1)._additionalProperties().size());
        // the prompt's log-probabilities equal an in-process forward pass's log-softmax (what lm-eval reads)
        int[] ids = TOKENIZER.encode(prompt);
        float[] expected = promptLogprobs(ids);
        for (int k = 1; k < ids.length; k++) {
            assertEquals(expected[k], values.get(k), 1e-4, "prompt token " + k);
        }
        for (int k = ids.length; k < values.size(); k++) {
            assertTrue(values.get(k) <= 0, "a log-probability");
        }
    }

    private static float[] promptLogprobs(int[] ids) {
        synchronized (OpenAiServerTest.class) {
            try (NoGrad ignored = NoGrad.enter(); NDManager m = NDManager.newBaseManager()) {
                long[] longs = Arrays.stream(ids).asLongStream().toArray();
                NDArray logits = model.forward(m.create(longs, new Shape(1, ids.length)));
                float[] lsm = logits.logSoftmax(-1).toFloatArray();
                float[] out = new float[ids.length];
                int vocab = TOKENIZER.vocabSize();
                for (int k = 1; k < ids.length; k++) {
                    out[k] = lsm[(k - 1) * vocab + ids[k]];
                }
                return out;
            }
        }
    }

    @Test
    void chatCompletionRendersTheConversationAsSftDoes() {
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model(NAME)
                .addSystemMessage("Be brief.").addUserMessage("What is 3 plus 4?").temperature(0.0)
                .maxCompletionTokens(12).build());
        String expected;
        synchronized (OpenAiServerTest.class) {
            int[] prompt = ChatPrompt.seed(TOKENIZER).encode(List.of(new ChatTemplate.Message("system", "Be brief."),
                    new ChatTemplate.Message("user", "What is 3 plus 4?")));
            expected = new Generator(model, TOKENIZER).generate(List.of(prompt), greedy(12)).get(0).text();
        }
        assertEquals(expected, c.choices().get(0).message().content().orElseThrow());
        assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, c.choices().get(0).finishReason());
        assertEquals(12, c.usage().orElseThrow().completionTokens());
    }

    @Test
    void streamedChatEqualsTheWholeAnswerAndEndsWithAFinishReason() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(NAME)
                .addUserMessage("Tell me a story").temperature(1.0).seed(7).maxCompletionTokens(30).build();
        String whole = client.chat().completions().create(params).choices().get(0).message().content().orElseThrow();
        StringBuilder streamed = new StringBuilder();
        List<String> reasons = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(ch -> {
                ch.delta().content().ifPresent(streamed::append);
                ch.finishReason().ifPresent(r -> reasons.add(r.asString()));
            }));
        }
        assertEquals(whole, streamed.toString());
        assertEquals(1, reasons.size());
        assertTrue(List.of("stop", "length").contains(reasons.get(0)), reasons.toString());
    }

    @Test
    void stopSequencesCutTheTextStreamedOrNotAndNChoicesSampleApart() {
        String prompt = "Once upon";
        String free = complete(prompt, 30, 1.0, 3, Map.of("ignore_eos", true));
        // an ASCII character the model produces with this seed (ASCII never sits inside a multi-byte character)
        String stop = free.substring(3).chars().filter(ch -> ch >= 0x21 && ch < 0x7f).limit(1)
                .mapToObj(Character::toString).findFirst().orElseThrow();
        CompletionCreateParams params = CompletionCreateParams.builder().model(NAME).prompt(prompt).maxTokens(30)
                .temperature(1.0).seed(3).stop(stop).putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                .build();
        CompletionChoice cut = client.completions().create(params).choices().get(0);
        assertEquals(free.substring(0, free.indexOf(stop)), cut.text());
        assertEquals(CompletionChoice.FinishReason.STOP, cut.finishReason());
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(params)) {
            stream.stream().forEach(c -> c.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertEquals(cut.text(), streamed.toString());
        Completion two = client.completions().create(CompletionCreateParams.builder().model(NAME).prompt(prompt)
                .maxTokens(30).temperature(1.0).seed(3).n(2)
                .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build());
        assertEquals(2, two.choices().size());
        assertEquals(free, two.choices().get(0).text(), "choice i samples with seed + i");
        assertEquals(complete(prompt, 30, 1.0, 4, Map.of("ignore_eos", true)), two.choices().get(1).text());
        assertEquals(60, two.usage().orElseThrow().completionTokens());
    }

    @Test
    void frequencyPenaltyChangesTheOutputAsDefined() {
        String prompt = "abc";
        // a negative frequency penalty rewards repeating: greedy then repeats its first token (random logits differ
        // by far less than 2); in-process generation with the same penalty agrees with the server
        SamplingSettings rewarded = greedy(16).withPenalties(-2f, 0f, 1f, 0f);
        Generation local = local(prompt, rewarded);
        assertTrue(Arrays.stream(local.tokens()).allMatch(t -> t == local.tokens()[0]), Arrays.toString(
                local.tokens()));
        assertEquals(local.text(), complete(prompt, 16, 0, 0, Map.of("frequency_penalty", -2.0)));
        SamplingSettings penalised = greedy(16).withPenalties(2f, 0f, 1f, 0f);
        Generation distinct = local(prompt, penalised);
        assertEquals(distinct.tokens().length, Arrays.stream(distinct.tokens()).distinct().count(), "no token twice");
        assertEquals(distinct.text(), complete(prompt, 16, 0, 0, Map.of("frequency_penalty", 2.0)));
        assertNotEquals(local(prompt, greedy(16)).text(), distinct.text());
    }

    @Test
    void presencePenaltyChangesTheOutputAsDefined() {
        String prompt = "xyz";
        // a presence penalty far above the logits' spread forbids repeats outright (in-process, which has no range)
        Generation forbidden = local(prompt, greedy(16).withPenalties(0f, 100f, 1f, 0f));
        assertEquals(forbidden.tokens().length, Arrays.stream(forbidden.tokens()).distinct().count(), "no token twice");
        // the server's (OpenAI's range, -2..2) equals in-process generation with the same penalty
        Generation penalised = local(prompt, greedy(16).withPenalties(0f, 2f, 1f, 0f));
        assertEquals(penalised.text(), complete(prompt, 16, 0, 0, Map.of("presence_penalty", 2.0)));
        // a negative one rewards what was said: greedy repeats its first token
        Generation repeating = local(prompt, greedy(16).withPenalties(0f, -2f, 1f, 0f));
        assertTrue(Arrays.stream(repeating.tokens()).allMatch(t -> t == repeating.tokens()[0]),
                Arrays.toString(repeating.tokens()));
        assertNotEquals(local(prompt, greedy(16)).text(), repeating.text());
        assertEquals(repeating.text(), complete(prompt, 16, 0, 0, Map.of("presence_penalty", -2.0)));
    }

    @Test
    void repetitionPenaltyAvoidsPromptAndOutputTokens() {
        String prompt = "hello world";
        Generation penalised = local(prompt, greedy(16).withPenalties(0f, 0f, 10f, 0f));
        int[] promptIds = TOKENIZER.encode(prompt);
        for (int t : penalised.tokens()) {
            assertTrue(Arrays.stream(promptIds).noneMatch(p -> p == t), "token " + t + " is in the prompt");
        }
        assertEquals(penalised.tokens().length, Arrays.stream(penalised.tokens()).distinct().count(), "no token twice");
        assertEquals(penalised.text(), complete(prompt, 16, 0, 0, Map.of("repetition_penalty", 10.0)));
    }

    @Test
    void minPOfOneKeepsOnlyTheMostLikelyToken() {
        String prompt = "min p";
        String greedyText = complete(prompt, 16, 0, 0, Map.of());
        assertEquals(greedyText, complete(prompt, 16, 1.5, 99, Map.of("min_p", 1.0)));
        assertNotEquals(greedyText, complete(prompt, 16, 1.5, 99, Map.of()), "without min-p it samples");
        assertEquals(local(prompt, new SamplingSettings(1.5f, 0, 1f, 16, List.of(), 99, true)).text(),
                complete(prompt, 16, 1.5, 99, Map.of()));
    }

    @Test
    void concurrentStreamsEachGetTheirOwnText() throws Exception {
        int streams = 8;
        List<String> alone = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            alone.add(complete("stream " + i, 24, 1.0, 100 + i, Map.of("ignore_eos", true)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(streams);
        try {
            List<Future<String>> together = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                int n = i;
                together.add(pool.submit(() -> {
                    CompletionCreateParams p = CompletionCreateParams.builder().model(NAME).prompt("stream " + n)
                            .maxTokens(24).temperature(1.0).seed(100 + n)
                            .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build();
                    StringBuilder text = new StringBuilder();
                    try (StreamResponse<Completion> s = client.completions().createStreaming(p)) {
                        s.stream().forEach(c -> c.choices().forEach(ch -> text.append(ch.text())));
                    }
                    return text.toString();
                }));
            }
            for (int i = 0; i < streams; i++) {
                assertEquals(alone.get(i), together.get(i).get(), "stream " + i);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(streams, alone.stream().distinct().count());
    }

    @Test
    void requestsBeyondTheConcurrencyLimitGet429() throws Exception {
        OpenAiServer.Settings limited = OpenAiServer.Settings.defaults(NAME).withPort(0).withLimits(1 << 20, 4096, 1,
                16, 32);
        // a long context, so the first request holds the only slot for a while (~1000 steps)
        try (Gpt slow = Gpt.initialize(new GptConfig(259, 1024, 1, 16, 2), 3);
                OpenAiServer one = OpenAiServer.start(slow, TOKENIZER, limited)) {
            OpenAIClient second = OpenAIOkHttpClient.builder().baseUrl(one.baseUrl().toString()).apiKey("none")
                    .maxRetries(0).build();
            second.models().list(); // warm: the SDK's first call loads its classes, slower than the first request
            HttpClient http = HttpClient.newHttpClient();
            String body = "{\"prompt\": \"x\", \"max_tokens\": 1000, \"ignore_eos\": true, \"stream\": true}";
            HttpResponse<java.io.InputStream> first = http.send(HttpRequest.newBuilder(URI.create(one.baseUrl()
                    + "/completions")).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (java.io.InputStream stream = first.body()) {
                assertEquals(200, first.statusCode());
                com.openai.errors.RateLimitException busy = assertThrows(com.openai.errors.RateLimitException.class,
                        () -> second.completions().create(CompletionCreateParams.builder().model(NAME).prompt("y")
                                .maxTokens(2).build()));
                assertEquals("rate_limit_exceeded", busy.code().orElseThrow());
                String all = new String(stream.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                assertTrue(all.trim().endsWith("data: [DONE]"), all);
            } finally {
                second.close();
            }
        }
    }

    @Test
    void aClientThatLeavesAStreamFreesItsPlaceInTheBatch() throws Exception {
        // a model whose 1000 steps take seconds, and a raw socket that resets the connection after the first bytes
        try (Gpt slow = Gpt.initialize(new GptConfig(259, 1024, 4, 128, 4), 4);
                OpenAiServer one = OpenAiServer.start(slow, TOKENIZER, OpenAiServer.Settings.defaults(NAME)
                        .withPort(0))) {
            String body = "{\"prompt\": \"x\", \"max_tokens\": 1000, \"ignore_eos\": true, \"stream\": true}";
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", one.port())) {
                socket.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                        + "application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
                java.io.InputStream in = socket.getInputStream();
                String seen = "";
                while (!seen.contains("data: ")) {
                    byte[] buffer = new byte[256];
                    int n = in.read(buffer);
                    assertTrue(n > 0, "the stream started");
                    seen += new String(buffer, 0, n, java.nio.charset.StandardCharsets.UTF_8);
                }
                socket.setSoLinger(true, 0); // close with a reset, as a killed client does
            }
            long steps = -1;
            for (int i = 0; i < 50; i++) {
                Thread.sleep(200);
                long now = steps(one);
                if (now == steps) {
                    break;
                }
                steps = now;
            }
            assertTrue(steps < 999, "the loop stopped generating for a client that left: " + one.stats());
        }
    }

    private static long steps(OpenAiServer server) {
        String stats = server.stats();
        return Long.parseLong(stats.substring(stats.indexOf("steps=") + 6).split(" ")[0]);
    }

    @Test
    void badRequestsAndWrongTokensGetOpenAiErrors() throws Exception {
        BadRequestException bad = assertThrows(BadRequestException.class, () -> client.completions().create(
                CompletionCreateParams.builder().model(NAME).prompt("x").temperature(5.0).build()));
        assertEquals(400, bad.statusCode());
        assertEquals("temperature", bad.param().orElseThrow());
        assertEquals("invalid_request_error", bad.type().orElseThrow());
        BadRequestException tooLong = assertThrows(BadRequestException.class, () -> client.completions().create(
                CompletionCreateParams.builder().model(NAME).prompt("x").maxTokens(1000).build()));
        assertEquals("max_tokens", tooLong.param().orElseThrow());
        NotFoundException missing = assertThrows(NotFoundException.class, () -> client.completions().create(
                CompletionCreateParams.builder().model("gpt-4").prompt("x").build()));
        assertEquals("model_not_found", missing.code().orElseThrow());
        OpenAIClient wrong = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl().toString())
                .apiKey("sk-wrong").maxRetries(0).build();
        try {
            UnauthorizedException denied = assertThrows(UnauthorizedException.class, () -> wrong.models().list());
            assertEquals("invalid_api_key", denied.code().orElseThrow());
        } finally {
            wrong.close();
        }
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> notJson = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl()
                + "/completions")).header("Authorization", "Bearer " + KEY)
                .POST(HttpRequest.BodyPublishers.ofString("{not json")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, notJson.statusCode());
        assertTrue(notJson.body().contains("\"error\"") && notJson.body().contains("\"param\""), notJson.body());
        HttpResponse<String> huge = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/completions"))
                .header("Authorization", "Bearer " + KEY)
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"" + "a".repeat(2 << 20) + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(413, huge.statusCode());
        HttpResponse<String> unknown = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/nothing"))
                .header("Authorization", "Bearer " + KEY).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(404, unknown.statusCode());
    }
}
