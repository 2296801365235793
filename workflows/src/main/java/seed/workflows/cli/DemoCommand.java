package seed.workflows.cli;

import io.kestra.core.models.executions.Execution;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.reward.dpo.DpoLoss;
import seed.workflows.demo.DemoInputs;
import seed.workflows.engine.SeedEngine;
import seed.workflows.engine.SeedHost;

/**
 * {@code seed demo}: Seed's main job. The {@code seed.three-stage} flow on generated data and embedded defaults
 * (Kestra, the in-process Kafka broker, embedded PostgreSQL, synthetic annotators ranking through the annotation
 * server's HTTP API), ending with the per-stage table, the HTML report and {@code name=value} lines.
 */
@Command(name = "demo", aliases = "pipeline", mixinStandardHelpOptions = true,
        description = "Seed's main job: pretrain -> SFT -> annotation -> reward model -> RLHF as the seed.three-stage "
                + "Kestra flow on generated demo data, on embedded Kafka, PostgreSQL and Kestra.")
public final class DemoCommand implements Callable<Integer> {

    @Option(names = {"--work", "--out"}, defaultValue = "runs/demo", description = "work folder (default: ${DEFAULT-VALUE})")
    Path work;

    @Option(names = "--seed", defaultValue = "1337", description = "seeds the data and every stage")
    long seed;

    @Option(names = "--pretrain-steps", description = "stage 1 steps (default 300)")
    Integer pretrainSteps;

    @Option(names = "--sft-steps", description = "stage 2 steps (default 400)")
    Integer sftSteps;

    @Option(names = "--reward-steps", description = "reward-model steps (default 200)")
    Integer rewardSteps;

    @Option(names = "--ppo-iterations", description = "PPO iterations (default 60)")
    Integer ppoIterations;

    @Option(names = "--alignment", description = "stage 3's method: ppo, rloo, grpo or dpo (default: the flow's, ppo)")
    String alignment;

    /**
     * The demo's DPO loss: plackett-luce, measured on seeds 1337 / 1338 at 60 steps, beta 0.3: rule rate 0.17 -> 0.58 /
     * 0.13 -> 0.95, unsafe 0.078 -> 0.000 / 0.070 -> 0.008, KL 1.79 / 2.28; the sigmoid loss 0.58 / 0.94, unsafe 0.008 /
     * 0.020 (above a fifth of SFT's), KL 1.93 / 3.01.
     */
    @Option(names = "--dpo-loss", defaultValue = "plackett-luce", description = "DPO's loss with --alignment dpo: "
            + "sigmoid, ipo, hinge or plackett-luce (default: ${DEFAULT-VALUE}, the flow's own default is sigmoid)")
    String dpoLoss;

    @Option(names = "--annotation-port", defaultValue = "0", description = "port of the annotator page (0 = any)")
    int annotationPort;

    /** The outputs the demo prints last (once each): the harm stage 3 suppresses. */
    static final java.util.List<String> LAST_LINES = java.util.List.of("unsafe_rate_sft", "unsafe_rate_policy");

    /**
     * How the demo ends: the outcome, the table and the {@code name=value} lines, with the harm stage 3 suppresses as
     * the last lines (issue 22), whatever order the outputs came in, each printed once. Returns the exit code.
     */
    static int printEnd(SeedEngine engine, Execution end, java.io.PrintStream out) {
        return Follow.report(engine, end, out, LAST_LINES);
    }

    @Override
    public Integer call() throws Exception {
        DemoInputs d = DemoInputs.defaults();
        DemoInputs sizes = new DemoInputs(seed, d.context(), d.layers(), d.dModel(), d.heads(),
                pretrainSteps != null ? pretrainSteps : d.pretrainSteps(), sftSteps != null ? sftSteps : d.sftSteps(),
                rewardSteps != null ? rewardSteps : d.rewardSteps(),
                ppoIterations != null ? ppoIterations : d.ppoIterations(), d.prompts());
        Path abs = work.toAbsolutePath().normalize();
        Map<String, Object> inputs = sizes.write(abs.resolve("data"), abs.resolve("report"));
        if (alignment != null) {
            inputs.put("alignment", alignment);
        }
        inputs.put("dpo_loss", DpoLoss.parse(dpoLoss).spelling());
        try (Hosts.Hosted hosted = Hosts.start(abs, annotationPort, "127.0.0.1", 0)) {
            SeedHost host = hosted.host();
            // a demo relaunched after a killed one continues that run rather than training beside it
            Execution e = Relaunch.continueOrLaunch(host.engine(), abs, "seed.three-stage", inputs, Hosts.user());
            System.out.println("execution=" + e.getId());
            Detach.recordLaunched(abs, e.getId());
            Execution end = Follow.untilDone(host.engine(), e.getId(), Duration.ofHours(2), System.out);
            return printEnd(host.engine(), end, System.out);
        }
    }
}
