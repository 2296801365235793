package seed.stages.sft;

import java.io.IOException;
import java.io.PrintStream;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.data.ExampleEncoder;
import seed.stages.data.InstructionDataset;
import seed.stages.data.InstructionFile;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.TrainResult;
import seed.stages.train.Trainer;

/**
 * Stage 2: supervised instruction tuning of a pretrained model on prompt/response pairs (or conversations), loss on
 * response tokens only. Examples that do not fit are cut, dropped or refused by the request's truncation, and what
 * was cut is reported. The model starts from {@code base}; the optimizer starts fresh (as is usual for fine-tuning).
 */
public final class Sft {

    private Sft() {
    }

    public static TrainResult run(SftRequest request, PrintStream out) throws IOException {
        Tokenizer tokenizer = Checkpoints.loadTokenizer(request.base());
        var examples = InstructionFile.read(request.data());
        // a base with adapters (a LoRA checkpoint) is folded into one set of weights first
        try (Gpt model = Checkpoints.mergedBase(request.base())) {
            if (request.lora() != null) {
                model.addAdapters(request.lora(), request.settings().seed(), Checkpoints.modelFolder(request.base()));
            }
            GptConfig config = model.config();
            if (request.resumeFrom() != null) {
                GptConfig saved = Checkpoints.readConfig(Checkpoints.resolve(request.resumeFrom()));
                if (!saved.equals(config)) {
                    throw new IllegalArgumentException("cannot resume from " + request.resumeFrom()
                            + ": it holds a model of " + saved.describe() + " but the base is " + config.describe());
                }
            }
            InstructionDataset dataset = new InstructionDataset(examples, tokenizer, config.context(),
                    request.settings().batchSize(), 0.1, request.settings().seed(), request.truncation(),
                    request.data().toString());
            ExampleEncoder cut = dataset.encoder();
            if (cut.promptsCut() + cut.responsesCut() + cut.dropped() > 0) {
                out.println("sft       truncation: " + cut.report());
            }
            Trainer trainer = new Trainer("sft", model, tokenizer, dataset, request.settings(), request.outDir(), out);
            return trainer.run(request.resumeFrom(), request.stopAt());
        }
    }
}
