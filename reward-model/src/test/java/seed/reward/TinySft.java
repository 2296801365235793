package seed.reward;

import seed.stages.data.InstructionDataset;
import seed.stages.data.InstructionExample;
import seed.stages.data.SyntheticInstructions;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.train.TrainSettings;
import seed.stages.train.Trainer;

import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;

/** Trains a tiny SFT model on the synthetic arithmetic task with the stages' own trainer: the base of the RM tests. */
final class TinySft {

    static final GptConfig SHAPE = new GptConfig(259, 96, 2, 64, 4);

    private TinySft() {
    }

    static Path train(Path dir, double politeFraction, int steps) throws Exception {
        return train(dir, politeFraction, steps, MAX_OPERAND);
    }

    /** Operands 0..4: 25 sums a tiny model memorises in a few hundred steps. */
    static final int MAX_OPERAND = 4;

    static Path train(Path dir, double politeFraction, int steps, int maxOperand) throws Exception {
        return train(dir, politeFraction, steps, maxOperand, SHAPE);
    }

    /** The demo's model shape (3 layers, d96, 4 heads, context 96), for measurements at the demo's size. */
    static final GptConfig DEMO_SHAPE = new GptConfig(259, 96, 3, 96, 4);

    /** As {@link #train(Path, double, int, int)} for a model of {@code shape}. */
    static Path train(Path dir, double politeFraction, int steps, int maxOperand, GptConfig shape) throws Exception {
        List<InstructionExample> examples = SyntheticInstructions.generate(3000, maxOperand, politeFraction, 11).stream()
                .map(e -> new InstructionExample(e.prompt(), e.response(), 0)).toList();
        ByteTokenizer tokenizer = new ByteTokenizer();
        try (Gpt gpt = Gpt.initialize(shape, 5)) {
            InstructionDataset data = new InstructionDataset(examples, tokenizer, shape.context(), 32, 0.05, 3, false);
            TrainSettings settings = new TrainSettings(steps, 32, 3e-3f, 3e-4f, 20, 0.0f, 1.0f, steps, steps, 1, 1, 5000);
            new Trainer("sft", gpt, tokenizer, data, settings, dir, new PrintStream(OutputStream.nullOutputStream())).run(null, 0);
        }
        return dir;
    }
}
