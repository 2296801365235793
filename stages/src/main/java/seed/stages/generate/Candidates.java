package seed.stages.generate;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.checkpoint.Hashes;
import seed.stages.data.ExampleEncoder;
import seed.stages.data.Truncation;
import seed.stages.metrics.Progress;
import seed.stages.model.Gpt;
import seed.stages.rlhf.PromptFile;
import seed.stages.tokenizer.Tokenizer;

/**
 * Candidate responses for annotation: K samples per prompt from a (usually SFT) checkpoint, written as JSONL lines
 * {@code {"prompt", "responses": [K], "checkpoint", "checkpoint_sha256"}} that the annotation service loads as items.
 * The checkpoint's hash travels with every line so a ranking can be traced to the model that wrote the responses.
 */
public final class Candidates {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What was written. */
    public record Result(Path file, int prompts, int responses, String checkpointSha256) {
    }

    private Candidates() {
    }

    /**
     * A sampled text as annotators can see and databases can store it: NUL (which a byte-level model can emit, and
     * which PostgreSQL text cannot hold) becomes U+FFFD, the usual mark for an undisplayable character.
     */
    static String displayable(String text) {
        return text.indexOf('\u0000') < 0 ? text : text.replace('\u0000', '\uFFFD');
    }

    public static Result generate(Path model, Path promptsFile, int k, SamplingSettings sampling, Path out,
            PrintStream console) throws IOException {
        return generate(model, promptsFile, k, sampling, Truncation.strict(), out, console);
    }

    /**
     * As above; prompts that leave no room for {@code sampling.maxNewTokens()} within the truncation's max length are
     * cut at the left or refused naming their line (the candidates file keeps the full prompt text).
     */
    public static Result generate(Path model, Path promptsFile, int k, SamplingSettings sampling, Truncation truncation,
            Path out, PrintStream console) throws IOException {
        if (k < 2) {
            throw new IllegalArgumentException("--k must be at least 2 (annotators rank K responses), got " + k);
        }
        Path checkpoint = Checkpoints.resolve(model);
        String sha = Hashes.sha256(checkpoint);
        List<PromptFile.Prompt> prompts = PromptFile.readPrompts(promptsFile);
        Tokenizer tokenizer = Checkpoints.loadTokenizer(checkpoint);
        StringBuilder lines = new StringBuilder();
        try (Gpt gpt = Checkpoints.loadModel(checkpoint)) {
            Generator generator = new Generator(gpt, tokenizer);
            ExampleEncoder encoder = new ExampleEncoder(tokenizer, truncation, gpt.config().context());
            List<int[]> encoded = new ArrayList<>();
            for (PromptFile.Prompt p : prompts) {
                encoded.add(encoder.prompt(p.conversation(), sampling.maxNewTokens(), promptsFile + ":" + p.line()));
            }
            if (encoder.promptsCut() > 0) {
                console.println("candidates truncation: " + encoder.report());
            }
            Progress progress = new Progress("candidates", prompts.size(), "responses", console, 2000);
            for (int i = 0; i < prompts.size(); i++) {
                seed.stages.control.Cancellation.check("candidates for prompt " + i);
                List<int[]> batch = new ArrayList<>();
                for (int j = 0; j < k; j++) {
                    batch.add(encoded.get(i));
                }
                List<Generation> samples = generator.generate(batch, sampling.withSeed(sampling.seed() + 1000L * i));
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("prompt", prompts.get(i).text());
                line.put("responses", samples.stream().map(g -> displayable(g.text())).toList());
                line.put("checkpoint", checkpoint.toAbsolutePath().toString());
                line.put("checkpoint_sha256", sha);
                lines.append(JSON.writeValueAsString(line)).append('\n');
                progress.update(i + 1, k, "");
            }
        }
        Checkpoints.writeAtomically(out, lines.toString());
        return new Result(out, prompts.size(), prompts.size() * k, sha);
    }
}
