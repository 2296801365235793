package seed.workflows.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.workflows.engine.FlowInputs;
import seed.workflows.engine.SeedHost;
import seed.workflows.sweep.SearchSpace;

/**
 * {@code seed sweep}: runs the {@code seed.sweep} flow (successive halving over a search space, each trial a run of the
 * stage's flow) in an embedded Kestra, like {@code seed run}, and prints the best setting as {@code name=value} lines.
 */
@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = "Hyper-parameter search of a stage by successive halving (the seed.sweep flow); prints the best "
                + "setting as name=value lines, then the report and trials.csv paths.")
public final class SweepCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--stage", defaultValue = "pretrain", description = "pretrain, sft, reward or dpo (default: "
            + "${DEFAULT-VALUE}; reward and dpo without halving: they cannot resume exactly)")
    String stage;

    @Option(names = "--space", required = true, description = "search space file (JSON or YAML), e.g. "
            + "{\"params\": {\"learning_rate\": {\"log_uniform\": [3e-4, 3e-2]}, \"d_model\": [32, 64]}}")
    Path space;

    @Option(names = "--set", description = "an input of the stage's flow every trial shares, name=value (repeatable), "
            + "e.g. --set corpus=data/corpus.txt")
    List<String> fixed = List.of();

    @Option(names = "--budget", defaultValue = "270", description = "steps of a full trial (default: ${DEFAULT-VALUE})")
    int budget;

    @Option(names = "--min-steps", defaultValue = "0", description = "steps of the first rung (0 = max(the "
            + "stage's warm-up, budget / reduction^(rungs-1)))")
    int minSteps;

    @Option(names = "--reduction", defaultValue = "3", description = "keep the best 1/N of each rung (default: "
            + "${DEFAULT-VALUE})")
    int reduction;

    @Option(names = "--metric", defaultValue = "", description = "stage output compared (default: the stage's, "
            + "val_loss for pretrain and sft, val_accuracy for reward, val_rewards_accuracy for dpo)")
    String metric;

    @Option(names = "--goal", defaultValue = "auto", description = "auto, minimize or maximize the metric (auto: "
            + "losses are minimized, accuracies maximized; default: ${DEFAULT-VALUE})")
    String goal;

    @Option(names = "--concurrency", defaultValue = "1", description = "trials in flight at once (default: "
            + "${DEFAULT-VALUE})")
    int concurrency;

    @Option(names = "--work", defaultValue = "runs/seed", description = "work folder (default: ${DEFAULT-VALUE})")
    Path work;

    @Option(names = "--timeout", defaultValue = "PT24H", description = "give up waiting after this long (ISO-8601)")
    Duration timeout;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(space)) {
            throw new IllegalArgumentException("--space: " + space + " is not a file");
        }
        Object parsed = new ObjectMapper(new YAMLFactory()).readValue(space.toFile(), Object.class); // YAML reads JSON
        String spaceJson = JSON.writeValueAsString(parsed);
        SearchSpace.parse(spaceJson); // a bad space fails here, naming the parameter, before any service starts
        Map<String, Object> base = new LinkedHashMap<>(RunCommand.parseInputs(fixed));
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("stage", stage);
        in.put("space", spaceJson);
        in.put("base", JSON.writeValueAsString(base));
        in.put("budget", budget);
        in.put("min_steps", minSteps);
        in.put("reduction", reduction);
        in.put("metric", metric);
        in.put("goal", goal);
        in.put("concurrency", concurrency);
        FlowInputs.check("seed.sweep", in);
        try (Hosts.Hosted hosted = Hosts.start(work, 0, "127.0.0.1", 0)) {
            Hosts.stopInOrderOnSignal(hosted);
            SeedHost host = hosted.host();
            Execution e = host.engine().launch("seed.sweep", in, Hosts.user());
            System.out.println("execution=" + e.getId());
            Detach.recordLaunched(work, e.getId());
            Execution end = Follow.untilDone(host.engine(), e.getId(), timeout, System.out);
            if (end.getState().getCurrent() != State.Type.SUCCESS) {
                return Follow.report(host.engine(), end, System.out);
            }
            Map<String, Object> out = end.getOutputs();
            System.out.println();
            // best.txt: the best setting's name=value lines in the space's order, then its metric, steps used
            System.out.print(Files.readString(Path.of(out.get("report").toString()).resolveSibling("best.txt")));
            for (String k : List.of("report", "trials_csv")) {
                System.out.println(k + "=" + out.get(k));
            }
            return 0;
        }
    }
}
