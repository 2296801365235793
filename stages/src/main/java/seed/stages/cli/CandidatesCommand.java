package seed.stages.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.data.Truncation;
import seed.stages.generate.Candidates;
import seed.stages.generate.SamplingSettings;
import seed.stages.train.Threads;

/** {@code seed candidates}: K sampled responses per prompt, the input of annotation ({@code seed annotate load}). */
@Command(name = "candidates", mixinStandardHelpOptions = true,
        description = "Sample K responses per prompt from a checkpoint into a candidates JSONL for annotators. Prompts "
                + "(plain or {\"messages\"} conversations) that leave no room for --max-new-tokens within --max-length are "
                + "cut at the left with --truncate-prompt left, or refused naming the line.")
public final class CandidatesCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "SFT checkpoint or run folder.") Path model;
    @Option(names = "--prompts", required = true, description = "JSONL of {\"prompt\": ...}.") Path prompts;
    @Option(names = "--out", required = true, description = "Candidates JSONL to write.") Path out;
    @Option(names = "--k", description = "Responses per prompt (default: ${DEFAULT-VALUE}).") int k = 4;
    @Option(names = "--temperature", description = "default: ${DEFAULT-VALUE}") float temperature = 1.0f;
    @Option(names = "--max-new-tokens", description = "default: ${DEFAULT-VALUE}") int maxNewTokens = 64;
    @Option(names = "--seed", description = "default: ${DEFAULT-VALUE}") long seed = 1;
    @Option(names = "--threads", description = "default: ${DEFAULT-VALUE}") int threads = 1;
    @Option(names = "--top-k", description = "Keep the k most likely tokens, 0 = all (default: ${DEFAULT-VALUE}).")
    int topK = 0;
    @Option(names = "--top-p", description = "Nucleus sampling mass (default: ${DEFAULT-VALUE}).") float topP = 1f;
    @picocli.CommandLine.Mixin PenaltyOptions penalties = new PenaltyOptions();
    @picocli.CommandLine.Mixin TruncationOptions truncation;
    @picocli.CommandLine.Mixin
    seed.stages.cli.ComputeOptions compute = new seed.stages.cli.ComputeOptions();

    @Override
    public Integer call() throws Exception {
        Truncation t = truncation.truncation();
        Threads.configure(threads);
        compute.apply();
        SamplingSettings sampling = penalties.apply(new SamplingSettings(temperature, topK, topP, maxNewTokens,
                List.of(), seed, true));
        Candidates.Result r = Candidates.generate(model, prompts, k, sampling, t, out, System.out);
        System.out.printf("checkpoint_sha256=%s%nprompts=%d%nresponses=%d%ncandidates=%s%n", r.checkpointSha256(),
                r.prompts(), r.responses(), r.file());
        return 0;
    }
}
