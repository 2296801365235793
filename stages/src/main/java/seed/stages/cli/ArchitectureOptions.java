package seed.stages.cli;

import picocli.CommandLine.Option;
import seed.stages.model.Architecture;
import seed.stages.model.Family;

/** The architecture flags of commands that build a model from scratch ({@code pretrain}, {@code bench train}). */
public final class ArchitectureOptions {

    @Option(names = "--arch", description = "gpt2 or llama (RoPE, RMSNorm, SwiGLU, grouped-query attention). "
            + "Default: ${DEFAULT-VALUE}.")
    String arch = "gpt2";

    @Option(names = "--kv-heads", description = "Llama: key/value heads (grouped-query attention); 0 = --heads.")
    int kvHeads = 0;

    @Option(names = "--ffn", description = "MLP hidden width; 0 = the family's default (GPT-2 4 x d-model, Llama "
            + "8/3 x d-model rounded up to 64).")
    int ffn = 0;

    @Option(names = "--rope-theta", description = "Llama: RoPE base (default 10000).")
    double ropeTheta = 0;

    public Architecture architecture() {
        return new Architecture(Family.parse(arch), kvHeads, ffn, ropeTheta);
    }
}
