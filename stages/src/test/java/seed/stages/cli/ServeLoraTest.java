package seed.stages.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.model.LoraSettings;
import seed.stages.model.NoGrad;
import seed.stages.tokenizer.ByteTokenizer;

/** {@code seed serve --model BASE --lora ADAPTER} computes what the adapter checkpoint computes on its own. */
class ServeLoraTest {

    @Test
    void adaptersOnTopOfTheBaseMatchTheAdapterCheckpoint(@TempDir Path dir) throws Exception {
        Path base = Files.createDirectories(dir.resolve("base"));
        Path adapters = Files.createDirectories(dir.resolve("adapters"));
        try (Gpt model = Gpt.initialize(GptConfig.llama(259, 32, 2, 32, 4, 2, 64), 3)) {
            Checkpoints.writeModel(base, model, new ByteTokenizer());
            model.addAdapters(new LoraSettings(2, 4, 0, List.of("q_proj", "v_proj", "down_proj"), false), 3, base);
            model.parameters().forEach((name, w) -> {
                if (name.contains("lora_B")) { // B = 0 would change nothing: give the adapters an effect
                    w.set(w.getManager().randomNormal(w.getShape()).mul(0.3f).toFloatArray());
                }
            });
            Checkpoints.writeModel(adapters, model, new ByteTokenizer());
        }
        try (Gpt served = ServeCommand.withAdapters(base, adapters); Gpt reference = Checkpoints.loadModel(adapters);
             Gpt plain = Checkpoints.loadModel(base); NoGrad ignored = NoGrad.enter();
             NDManager m = NDManager.newBaseManager()) {
            var tokens = m.create(new long[] {3, 7, 1, 9, 22, 5}, new Shape(1, 6));
            float[] got = served.forward(tokens).toFloatArray();
            assertArrayEquals(reference.forward(tokens).toFloatArray(), got, 1e-5f);
            assertFalse(Arrays.equals(plain.forward(tokens).toFloatArray(), got), "the adapters change the output");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ServeCommand.withAdapters(base, base));
        assertTrue(e.getMessage().contains("is not a LoRA adapter folder"), e.getMessage());
    }
}
