package seed.workflows.cli;

import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.State;
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

/**
 * {@code seed run}: one flow in an embedded Kestra on this machine, progress streamed per stage, and the exit code
 * telling whether it ended SUCCESS. The engine keeps its state (H2) under the work folder, so {@code seed resume}
 * can finish a run this process did not (killed, or a stage failed).
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run a Seed flow in an embedded Kestra engine; exits 0 only when it ends SUCCESS.")
public final class RunCommand implements Callable<Integer> {

    @Option(names = "--flow", defaultValue = "seed.three-stage", description = "flow id (default: ${DEFAULT-VALUE})")
    String flow;

    @Option(names = "--input", description = "flow input as key=value (repeatable)")
    List<String> inputs = List.of();

    @Option(names = "--work", defaultValue = "runs/seed", description = "work folder: engine state, artifact store, "
            + "reports (default: ${DEFAULT-VALUE})")
    Path work;

    @Option(names = "--annotation-port", defaultValue = "0", description = "port of the annotator page (0 = any)")
    int annotationPort;

    @Option(names = "--timeout", defaultValue = "PT6H", description = "give up waiting after this long (ISO-8601)")
    Duration timeout;

    @Option(names = "--detach", description = "start the run in a background process, print its id and return")
    boolean detach;

    @Option(names = "--list-inputs", description = "print the flow's inputs (name, type, bounds, default, description) "
            + "and exit")
    boolean listInputs;

    @Option(names = "--server", description = "launch on this seed server (default: the server owning --work, if one "
            + "runs; otherwise an engine in this process)")
    String server;

    @Option(names = "--token", description = "operator token for --server (default: SEED_TOKEN, or the work folder's)")
    String token;

    @Override
    public Integer call() throws Exception {
        if (listInputs) {
            System.out.println(FlowInputs.table(FlowInputs.of(flow)));
            return 0;
        }
        Map<String, Object> in = parseInputs(inputs);
        // every input problem at once, in a second, before any service starts
        FlowInputs.check(flow, in);
        if (server != null || Hosts.runningServer(work.toAbsolutePath().normalize()).isPresent()) {
            return onServer(in);
        }
        if (detach) {
            return Detach.spawn(work, flow, inputs);
        }
        try (Hosts.Hosted hosted = Hosts.start(work, annotationPort, "127.0.0.1", 0)) {
            Hosts.stopInOrderOnSignal(hosted);
            SeedHost host = hosted.host();
            Execution e = host.engine().launch(flow, in, Hosts.user());
            System.out.println("execution=" + e.getId());
            Detach.recordLaunched(work, e.getId());
            Execution end = Follow.untilDone(host.engine(), e.getId(), timeout, System.out);
            return Follow.report(host.engine(), end, System.out);
        }
    }

    /**
     * The work folder belongs to a running {@code seed server} (or --server names one): launch there through the
     * operator API and follow the run, instead of refusing because another process owns the folder.
     */
    private int onServer(Map<String, Object> in) throws Exception {
        try (OperatorClient c = OperatorClient.connect(server, token, work, true)) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("flow", flow);
            body.put("inputs", in);
            String id = c.post("/api/runs", new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(body))
                    .path("id").asText();
            System.out.println("execution=" + id);
            if (detach) {
                return 0;
            }
            return OperatorCommands.followToEnd(c, id);
        }
    }

    /** key=value pairs; values stay strings (Kestra converts them to each input's declared type). */
    static Map<String, Object> parseInputs(List<String> pairs) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String p : pairs) {
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--input must be key=value, got '" + p + "'");
            }
            m.put(p.substring(0, eq).strip(), p.substring(eq + 1));
        }
        return m;
    }

    static boolean success(Execution e) {
        return e.getState().getCurrent() == State.Type.SUCCESS;
    }
}
