package seed.stages.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.checkpoint.HostTensor;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.tokenizer.ByteTokenizer;

/** Export to Hugging Face's GPT-2 layout and import back: GPT-2's keys and shapes, and identical logits. */
class HuggingFaceTest {

    /** GPT2LMHeadModel's safetensors keys and shapes (Conv1D weights are (in, out)), written out independently. */
    private static Map<String, long[]> gpt2Keys(int v, int ctx, int layers, int d, boolean tied) {
        Map<String, long[]> k = new LinkedHashMap<>();
        k.put("transformer.wte.weight", new long[] {v, d});
        k.put("transformer.wpe.weight", new long[] {ctx, d});
        for (int i = 0; i < layers; i++) {
            String p = "transformer.h." + i + ".";
            k.put(p + "ln_1.weight", new long[] {d});
            k.put(p + "ln_1.bias", new long[] {d});
            k.put(p + "attn.c_attn.weight", new long[] {d, 3 * d});
            k.put(p + "attn.c_attn.bias", new long[] {3 * d});
            k.put(p + "attn.c_proj.weight", new long[] {d, d});
            k.put(p + "attn.c_proj.bias", new long[] {d});
            k.put(p + "ln_2.weight", new long[] {d});
            k.put(p + "ln_2.bias", new long[] {d});
            k.put(p + "mlp.c_fc.weight", new long[] {d, 4 * d});
            k.put(p + "mlp.c_fc.bias", new long[] {4 * d});
            k.put(p + "mlp.c_proj.weight", new long[] {4 * d, d});
            k.put(p + "mlp.c_proj.bias", new long[] {d});
        }
        k.put("transformer.ln_f.weight", new long[] {d});
        k.put("transformer.ln_f.bias", new long[] {d});
        if (!tied) {
            k.put("lm_head.weight", new long[] {v, d});
        }
        return k;
    }

    @Test
    void exportHasGpt2KeysAndImportGivesIdenticalLogits(@TempDir Path dir) throws Exception {
        GptConfig seedStyle = new GptConfig(259, 16, 2, 32, 4);
        for (GptConfig config : new GptConfig[] {seedStyle, seedStyle.gpt2Style()}) {
            Path out = dir.resolve(config.tiedEmbeddings() ? "gpt2-style" : "seed-style");
            try (Gpt model = Gpt.initialize(config, 9); NDManager m = NDManager.newBaseManager()) {
                HuggingFace.export(model, new ByteTokenizer(), out);
                Map<String, HostTensor> written = SafeTensors.read(out.resolve("model.safetensors"));
                Map<String, long[]> expected = gpt2Keys(259, 16, 2, 32, config.tiedEmbeddings());
                assertEquals(expected.keySet(), written.keySet());
                expected.forEach((key, shape) -> assertArrayEquals(shape, written.get(key).shape(), key));
                JsonNode json = new ObjectMapper().readTree(out.resolve("config.json").toFile());
                assertEquals("gpt2", json.get("model_type").asText());
                assertEquals(config.tiedEmbeddings() ? "gelu_new" : "gelu", json.get("activation_function").asText());
                assertEquals(config.tiedEmbeddings(), json.get("tie_word_embeddings").asBoolean());
                // Conv1D orientation: c_attn.weight[i][j] == qkv.weight[j][i]
                float[] qkv = model.weights().get("h.0.attn.qkv.weight").data();
                float[] conv = written.get("transformer.h.0.attn.c_attn.weight").data();
                assertEquals(qkv[5 * 32 + 7], conv[7 * 96 + 5], 0f);

                assertInstanceOf(ByteTokenizer.class, HuggingFace.loadTokenizer(out));
                try (Gpt back = HuggingFace.load(out)) {
                    assertEquals(config, back.config());
                    NDArray ids = m.create(new long[] {1, 200, 3, 77, 256, 9}, new Shape(1, 6));
                    assertArrayEquals(model.forward(ids).toFloatArray(), back.forward(ids).toFloatArray(), 0f);
                }
            }
        }
    }

    @Test
    void tiedEmbeddingsShareOneMatrixAndTanhGeluDiffersFromExact() {
        GptConfig exact = new GptConfig(40, 8, 1, 16, 2);
        try (Gpt a = Gpt.initialize(exact, 1); Gpt b = Gpt.initialize(exact.gpt2Style(), 1);
                NDManager m = NDManager.newBaseManager()) {
            assertEquals(exact.parameterCount() - 40L * 16, exact.gpt2Style().parameterCount());
            assertEquals(false, b.parameters().containsKey("head.weight"));
            // tied: logits are the final hidden states times the token embeddings
            NDArray ids = m.create(new long[] {3, 4}, new Shape(1, 2));
            NDArray viaTable = b.hidden(ids, null).matMul(b.parameters().get("wte.weight").transpose());
            assertArrayEquals(viaTable.toFloatArray(), b.forward(ids).toFloatArray(), 1e-5f);
            // the same weights with the tanh approximation: close to exact GELU, not equal
            try (Gpt tanh = Gpt.initialize(new GptConfig(40, 8, 1, 16, 2, false, GptConfig.Activation.GELU_TANH), 1)) {
                float[] x = a.forward(ids).toFloatArray();
                float[] y = tanh.forward(ids).toFloatArray();
                double worst = 0;
                for (int i = 0; i < x.length; i++) {
                    worst = Math.max(worst, Math.abs(x[i] - y[i]));
                }
                org.junit.jupiter.api.Assertions.assertTrue(worst > 0 && worst < 1e-2, "difference " + worst);
            }
        }
    }
}
