package seed.stages.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.TestData;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.model.HuggingFace;
import seed.stages.pretrain.Pretraining;
import seed.stages.tokenizer.ByteTokenizer;

/**
 * A flow given a base model and no pretraining steps adopts it: the stage's checkpoint holds the Hugging Face
 * folder's weights unchanged (at the run's shorter context, RoPE needing no table), and its held-out loss on the
 * corpus is measured and logged as a pretraining run's would be.
 */
class AdoptBaseTest {

    @Test
    void aBaseIsAdoptedWithItsHeldOutLossAtTheRunsContext(@TempDir Path dir) throws Exception {
        Path hf = dir.resolve("hf");
        ByteTokenizer tokenizer = new ByteTokenizer();
        Gpt original = Gpt.initialize(GptConfig.llama(tokenizer.vocabSize(), 128, 2, 32, 4, 2, 0), 9);
        try (original) {
            HuggingFace.export(original, tokenizer, hf);
            Path corpus = TestData.corpus(dir, 200);
            TrainResult adopted = Pretraining.adopt(hf, corpus, dir.resolve("run"), 64, 4, 1,
                    new PrintStream(new ByteArrayOutputStream()));
            assertEquals(0, adopted.steps());
            assertTrue(Double.isFinite(adopted.valLoss()) && adopted.valLoss() > 0, "val_loss " + adopted.valLoss());
            assertTrue(java.nio.file.Files.readString(adopted.metrics()).contains("val_loss"));
            try (Gpt loaded = Checkpoints.loadModel(dir.resolve("run"))) {
                assertEquals(64, loaded.config().context());
                original.parameters().forEach((name, w) ->
                        assertArrayEquals(w.toFloatArray(), loaded.parameters().get(name).toFloatArray(), 0f, name));
            }
        }
    }
}
