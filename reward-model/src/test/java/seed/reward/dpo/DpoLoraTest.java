package seed.reward.dpo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.reward.data.RankingsFile;
import seed.reward.demo.SyntheticPreferences;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.HostTensor;
import seed.stages.data.Truncation;
import seed.stages.model.Devices;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.model.LoraSettings;
import seed.stages.model.Precision;
import seed.stages.tokenizer.ByteTokenizer;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DPO with LoRA adapters on a Llama-family model in bf16: the reference is the base with the adapters off (checked
 * unchanged at the end), the policy folder holds PEFT adapters over the untouched base, and the implicit rewards move.
 */
class DpoLoraTest {

    @Test
    void loraInBf16TrainsAdaptersAgainstTheBaseWithAdaptersOff(@TempDir Path dir) throws Exception {
        ByteTokenizer tokenizer = new ByteTokenizer();
        Path sft = dir.resolve("sft");
        Map<String, HostTensor> base;
        try (Gpt model = Gpt.initialize(GptConfig.llama(tokenizer.vocabSize(), 64, 2, 48, 4, 2, 0), 5)) {
            Files.createDirectories(sft);
            Checkpoints.writeModel(sft, model, tokenizer);
            base = model.weights();
        }
        Path rankings = dir.resolve("rankings.jsonl");
        RankingsFile.write(rankings, SyntheticPreferences.generate(
                new SyntheticPreferences.Settings(120, 3, 4, 0.5, 0.1, 0.1, 0.0, 3)));
        DpoSettings s = DpoSettings.defaults(sft, rankings, dir.resolve("dpo"))
                .withSchedule(8, 4, 3e-3f, 2)
                .withRun(8, 8, 1, 0)
                .withTruncation(Truncation.parse(0, 0, "left", "right"))
                .withLora(new LoraSettings(4, 8, 0, List.of("q", "v", "up"), false));
        Gpt.setProcessDefaults(Precision.BF16, Devices.parse("auto"));
        DpoResult r;
        try {
            r = DpoTrainer.train(s, new PrintStream(OutputStream.nullOutputStream()), 0);
        } finally {
            Gpt.setProcessDefaults(Precision.FP32, Devices.parse("auto"));
        }
        assertTrue(r.referenceFrozen(), "the base with adapters off gives the reference's log-probabilities at the end");
        assertTrue(Files.exists(r.policyDir().resolve("adapter_config.json")), "the policy is saved as PEFT adapters");
        assertFalse(Double.isNaN(r.valRewardsAccuracy()));
        assertTrue(Math.abs(r.valRewardsMargin()) > 0, "the implicit rewards moved");
        try (Gpt withoutAdapters = Checkpoints.loadModel(sft)) {
            Map<String, HostTensor> after = withoutAdapters.weights();
            for (String name : base.keySet()) {
                assertArrayEquals(base.get(name).data(), after.get(name).data(), 0f, name);
            }
        }
        assertEquals(8, r.steps());
    }
}
