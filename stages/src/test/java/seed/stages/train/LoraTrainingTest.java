package seed.stages.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.TestData;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.HostTensor;
import seed.stages.checkpoint.PeftAdapters;
import seed.stages.checkpoint.SafeTensors;
import seed.stages.data.Truncation;
import seed.stages.model.Architecture;
import seed.stages.model.Family;
import seed.stages.model.Gpt;
import seed.stages.model.LoraSettings;
import seed.stages.model.NoGrad;
import seed.stages.pretrain.PretrainRequest;
import seed.stages.pretrain.Pretraining;
import seed.stages.sft.Sft;
import seed.stages.sft.SftRequest;

/**
 * LoRA SFT on a Llama-family base pretrained here: it lowers the held-out loss, its checkpoint holds only the
 * adapters (PEFT's layout and key names) and their optimizer moments, the checkpoint loads back as base + adapters
 * with the base untouched, the merged weights give the adapter model's logits, and N + resume + N steps equal 2N.
 */
class LoraTrainingTest {

    private static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());
    private static final int N = 10;
    private static final LoraSettings LORA = new LoraSettings(4, 8, 0, List.of("q", "k", "v", "o", "gate", "up",
            "down"), false);

    private static TrainSettings settings(int steps, float lr) {
        return new TrainSettings(steps, 4, lr, lr / 10, 2, 0.0f, 1.0f, 5, 5, 2, 77, 100_000);
    }

    @Test
    void loraSftLearnsWritesPeftAdaptersAndResumesExactly(@TempDir Path dir) throws Exception {
        Path corpus = TestData.corpus(dir, 300);
        Path base = Pretraining.run(new PretrainRequest(corpus, dir.resolve("base"), null, 96, 2, 32, 4,
                settings(30, 3e-3f), null, 0, null, new Architecture(Family.LLAMA, 2, 0, 0)), QUIET).checkpoint();
        Map<String, HostTensor> baseWeights = SafeTensors.read(base.resolve(Checkpoints.MODEL));
        Path data = TestData.instructions(dir, 60, 0.5, 3);
        Truncation strict = Truncation.strict();

        TrainResult straight = Sft.run(new SftRequest(base, data, dir.resolve("a"), settings(2 * N, 1e-2f), strict,
                null, 0, LORA), QUIET);
        // the held-out loss fell from the base model's
        List<Map<String, Object>> metrics = seed.stages.metrics.MetricsLog.read(straight.metrics());
        double first = metrics.stream().filter(r -> r.containsKey("val_loss")).mapToDouble(r ->
                ((Number) r.get("val_loss")).doubleValue()).findFirst().orElseThrow();
        assertTrue(straight.valLoss() < first, "held-out loss " + first + " -> " + straight.valLoss());

        // the checkpoint: adapters in PEFT's layout, no model.safetensors, optimizer moments of the adapters only
        Path checkpoint = straight.checkpoint();
        assertFalse(Files.exists(checkpoint.resolve(Checkpoints.MODEL)));
        Map<String, HostTensor> adapters = SafeTensors.read(checkpoint.resolve(PeftAdapters.WEIGHTS));
        assertTrue(adapters.containsKey("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
        assertTrue(adapters.containsKey("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"));
        assertEquals(2 * 2 * 7, adapters.size());
        String config = Files.readString(checkpoint.resolve(PeftAdapters.CONFIG));
        assertTrue(config.contains("\"r\" : 4") && config.contains("q_proj") && config.contains(base.toString()), config);
        long moments = SafeTensors.read(checkpoint.resolve(Checkpoints.OPTIMIZER)).size();
        assertTrue(moments <= 2 * adapters.size() + 2, "optimizer state holds " + moments + " tensors");

        // loads back as base + adapters; the base's weights are untouched; merging gives the same logits
        try (Gpt loaded = Checkpoints.loadModel(dir.resolve("a")); NDManager m = NDManager.newBaseManager();
                NoGrad ignored = NoGrad.enter()) {
            assertEquals(LORA.rank(), loaded.lora().rank());
            assertEquals(LORA.scale(), loaded.lora().scale());
            assertEquals(7, loaded.lora().targets().size());
            for (var e : baseWeights.entrySet()) {
                assertArrayEquals(e.getValue().data(), loaded.parameters().get(e.getKey()).toFloatArray(), 0f);
            }
            var tokens = m.create(new long[] {5, 9, 3, 17, 40, 2, 8, 11}, new Shape(1, 8));
            float[] adapted = loaded.forward(tokens).toFloatArray();
            try (Gpt merged = Gpt.fromWeights(loaded.config(), loaded.mergedWeights())) {
                float[] folded = merged.forward(tokens).toFloatArray();
                for (int i = 0; i < adapted.length; i++) {
                    assertEquals(adapted[i], folded[i], 1e-4 * Math.max(1, Math.abs(adapted[i])));
                }
            }
        }

        // exact resume of a LoRA run
        Sft.run(new SftRequest(base, data, dir.resolve("b"), settings(2 * N, 1e-2f), strict, null, N, LORA), QUIET);
        TrainResult resumed = Sft.run(new SftRequest(base, data, dir.resolve("b"), settings(2 * N, 1e-2f), strict,
                dir.resolve("b"), 0, LORA), QUIET);
        assertEquals(straight.trainLoss(), resumed.trainLoss(), 1e-5);
        assertEquals(straight.valLoss(), resumed.valLoss(), 1e-5);
    }
}
