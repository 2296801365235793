package seed.stages.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Arrays;
import seed.stages.model.Gpt;
import seed.stages.model.NoGrad;

/**
 * The log-probability of every token of a sequence given the ones before it: what log-likelihood evaluations need.
 * Two sources that must agree: the model in this process, and a {@code seed serve} (or any OpenAI-compatible
 * server) through {@code /v1/completions} with {@code echo} and {@code logprobs}, which is what
 * lm-evaluation-harness's {@code local-completions} model sends, so a harness run reproduces Seed's numbers.
 */
public interface TokenScorer {

    /** log P(tokens[k] | tokens[..k]) for k >= 1; index 0 is NaN (nothing predicts the first token). */
    double[] score(int[] tokens);

    /** The model in this process: one forward pass, log-softmax in fp32. */
    static TokenScorer inProcess(Gpt model) {
        return tokens -> {
            try (NoGrad ignored = NoGrad.enter(); NDManager m = NDManager.newBaseManager(model.device())) {
                long[] ids = Arrays.stream(tokens).asLongStream().toArray();
                NDArray logits = model.forward(m.create(ids, new Shape(1, tokens.length)));
                float[] lsm = logits.logSoftmax(-1).toFloatArray();
                int vocab = (int) logits.getShape().get(2);
                double[] out = new double[tokens.length];
                out[0] = Double.NaN;
                for (int k = 1; k < tokens.length; k++) {
                    out[k] = lsm[(k - 1) * vocab + tokens[k]];
                }
                return out;
            }
        };
    }

    /**
     * A server at {@code baseUrl} (e.g. {@code http://127.0.0.1:8000/v1}): the prompt sent as token ids with
     * {@code echo: true, max_tokens: 0, logprobs: 0}, its {@code token_logprobs} read back.
     */
    static TokenScorer server(URI baseUrl, String model, String apiKey) {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        ObjectMapper json = new ObjectMapper();
        return tokens -> {
            ObjectNode body = json.createObjectNode().put("echo", true).put("max_tokens", 0).put("logprobs", 0)
                    .put("temperature", 0.0);
            if (model != null) {
                body.put("model", model);
            }
            body.putArray("prompt").addAll(Arrays.stream(tokens).mapToObj(json.getNodeFactory()::numberNode)
                    .toList());
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + "/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
            if (apiKey != null) {
                request.header("Authorization", "Bearer " + apiKey);
            }
            try {
                HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() != 200) {
                    throw new IllegalStateException("server answered " + response.statusCode() + ": "
                            + response.body());
                }
                JsonNode values = json.readTree(response.body()).path("choices").path(0).path("logprobs")
                        .path("token_logprobs");
                if (values.size() != tokens.length) {
                    throw new IllegalStateException("server returned " + values.size() + " log-probabilities for "
                            + tokens.length + " tokens");
                }
                double[] out = new double[tokens.length];
                for (int k = 0; k < tokens.length; k++) {
                    out[k] = values.get(k).isNull() ? Double.NaN : values.get(k).asDouble();
                }
                return out;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        };
    }
}
