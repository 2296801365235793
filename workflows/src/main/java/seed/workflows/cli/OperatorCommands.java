package seed.workflows.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The operators' commands: list runs, show one, read its logs, cancel it, resume it. */
public final class OperatorCommands {

    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** States a run does not leave by itself. */
    static final Set<String> TERMINAL = Set.of("SUCCESS", "FAILED", "KILLED", "WARNING", "CANCELLED");

    private OperatorCommands() {
    }

    /** Prints the run's log lines not printed before (the API returns them all, oldest first). */
    static void printNewLogs(OperatorClient c, String path, Set<String> seen, boolean withTimeAndLevel)
            throws Exception {
        for (JsonNode l : c.get(path)) {
            String key = l.path("time").asText() + l.path("task").asText() + l.path("message").asText();
            if (!seen.add(key)) {
                continue;
            }
            if (withTimeAndLevel) {
                System.out.printf("%s [%s/%s] %s %s%n", l.path("time").asText(), l.path("flow").asText(),
                        l.path("task").asText(), l.path("level").asText(), l.path("message").asText());
            } else {
                System.out.printf("[%s/%s] %s%n", l.path("flow").asText(), l.path("task").asText(),
                        l.path("message").asText());
            }
        }
    }

    /**
     * Prints a run's new log lines until it ends, then its outputs as {@code key=value} lines (the same ending as
     * {@code seed run}); exit code 0 only for SUCCESS.
     */
    static int followToEnd(OperatorClient c, String run) throws Exception {
        Set<String> seen = new HashSet<>();
        while (true) {
            printNewLogs(c, "/api/runs/" + run + "/logs", seen, false);
            JsonNode s = c.get("/api/runs/" + run);
            String state = s.path("state").asText();
            if (TERMINAL.contains(state)) {
                printNewLogs(c, "/api/runs/" + run + "/logs", seen, false);
                if (s.path("outputs").hasNonNull("table")) {
                    System.out.println(s.path("outputs").path("table").asText());
                }
                System.out.println("execution=" + run);
                System.out.println("state=" + state);
                s.path("outputs").fields().forEachRemaining(f -> {
                    if (!f.getKey().equals("table")) {
                        System.out.println(f.getKey() + "=" + f.getValue().asText());
                    }
                });
                return "SUCCESS".equals(state) ? 0 : 1;
            }
            Thread.sleep(1000);
        }
    }

    /** Where the operator API is: the same options on every command. */
    public static final class Target {
        @Option(names = "--work", defaultValue = "runs/seed", description = "work folder of the runs (default: "
                + "${DEFAULT-VALUE})")
        Path work;

        @Option(names = "--server", description = "URL of a seed server (default: the process owning --work, or "
                + "an engine started for it)")
        String server;

        @Option(names = "--token", description = "operator token (default: SEED_TOKEN, or the work folder's own)")
        String token;

        OperatorClient connect() throws Exception {
            return OperatorClient.connect(server, token, work, true);
        }

        /** The live server for this work folder or --server, never a locally started engine; empty if none. */
        java.util.Optional<OperatorClient> live() throws Exception {
            return OperatorClient.live(server, token, work);
        }

        OperatorClient read() throws Exception {
            return OperatorClient.connect(server, token, work, false);
        }
    }

    @Command(name = "runs", mixinStandardHelpOptions = true, description = "List recent runs, newest first.")
    public static final class Runs implements Callable<Integer> {
        @Mixin
        Target target;

        @Override
        public Integer call() throws Exception {
            try (OperatorClient c = target.read()) {
                System.out.printf("%-24s %-20s %-10s %-26s %8s  %s%n", "id", "flow", "state", "started", "seconds",
                        "launched by");
                boolean orphans = false;
                for (JsonNode r : c.get("/api/runs")) {
                    String state = r.path("state").asText();
                    // no process owns the work folder (this command started a read-only engine): nothing runs it
                    if (c.local() && !TERMINAL.contains(state)) {
                        state = state + "*";
                        orphans = true;
                    }
                    System.out.printf("%-24s %-20s %-10s %-26s %8.1f  %s%n", r.path("id").asText(),
                            r.path("flow").asText(), state, r.path("started").asText(),
                            r.path("duration_s").asDouble(), r.path("launched_by").asText());
                }
                if (orphans) {
                    System.out.println("* no Seed process owns this work folder, so nothing is running these: the "
                            + "process that ran them stopped. seed resume RUN continues one.");
                }
                return 0;
            }
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "A run's state, and per stage and task: state, attempt, duration, outputs.")
    public static final class Status implements Callable<Integer> {
        @Parameters(index = "0", description = "run (execution) id")
        String run;
        @Mixin
        Target target;
        @Option(names = "--json", description = "the whole status as JSON")
        boolean json;

        @Override
        public Integer call() throws Exception {
            try (OperatorClient c = target.read()) {
                JsonNode s = c.get("/api/runs/" + run);
                if (json) {
                    System.out.println(PRETTY.writeValueAsString(s));
                    return 0;
                }
                System.out.printf("run %s  %s  %s  %.1f s  launched by %s%n", s.path("id").asText(),
                        s.path("flow").asText(), s.path("state").asText(), s.path("duration_s").asDouble(),
                        s.path("launched_by").asText());
                for (JsonNode t : s.path("tasks")) {
                    System.out.printf("  %-12s %-10s attempt %d  %7.1f s%s%n", t.path("task").asText(),
                            t.path("state").asText(), t.path("attempt").asInt(), t.path("duration_s").asDouble(),
                            t.hasNonNull("progress") ? "  " + t.path("progress").asText() : "");
                }
                for (JsonNode st : s.path("stages")) {
                    System.out.printf("  stage %s (%s) %s%n", st.path("flow").asText(), st.path("id").asText(),
                            st.path("state").asText());
                    for (JsonNode t : st.path("tasks")) {
                        System.out.printf("    %-12s %-10s attempt %d  %7.1f s  %s%n", t.path("task").asText(),
                                t.path("state").asText(), t.path("attempt").asInt(), t.path("duration_s").asDouble(),
                                t.hasNonNull("progress") ? t.path("progress").asText() : t.path("outputs"));
                    }
                }
                return 0;
            }
        }
    }

    @Command(name = "logs", mixinStandardHelpOptions = true, description = "A run's log lines (all stages, or one).")
    public static final class Logs implements Callable<Integer> {
        @Parameters(index = "0", description = "run (execution) id")
        String run;
        @Mixin
        Target target;
        @Option(names = "--stage", description = "only this stage (subflow) or task")
        String stage;
        @Option(names = "--follow", description = "keep printing until the run ends")
        boolean follow;

        @Override
        public Integer call() throws Exception {
            try (OperatorClient c = target.read()) {
                Set<String> seen = new HashSet<>();
                String q = stage == null ? "" : "?stage=" + URLEncoder.encode(stage, StandardCharsets.UTF_8);
                while (true) {
                    printNewLogs(c, "/api/runs/" + run + "/logs" + q, seen, true);
                    if (!follow) {
                        return 0;
                    }
                    String state = c.get("/api/runs/" + run).path("state").asText();
                    if (TERMINAL.contains(state)) {
                        System.out.println("state=" + state);
                        return "SUCCESS".equals(state) ? 0 : 1;
                    }
                    Thread.sleep(1000);
                }
            }
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true,
            description = "Cancel a run: the running task stops at its next step; checkpoints stay complete.")
    public static final class Cancel implements Callable<Integer> {
        @Parameters(index = "0", description = "run (execution) id")
        String run;
        @Mixin
        Target target;

        @Override
        public Integer call() throws Exception {
            try (OperatorClient c = target.connect()) {
                c.post("/api/runs/" + run + "/cancel", "");
                for (int i = 0; i < 60; i++) {
                    String state = c.get("/api/runs/" + run).path("state").asText();
                    if (!state.equals("KILLING") && !state.equals("RUNNING")) {
                        System.out.println("state=" + state);
                        return state.equals("KILLED") ? 0 : 1;
                    }
                    Thread.sleep(500);
                }
                System.out.println("state=KILLING");
                return 1;
            }
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true,
            description = "Resume a failed or killed run from its failed task (Kestra's restart); done stages are "
                    + "reused. Waits for it to end.")
    public static final class Resume implements Callable<Integer> {
        @Parameters(index = "0", description = "run (execution) id")
        String run;
        @Mixin
        Target target;
        @Option(names = "--no-wait", description = "return once the run is restarted")
        boolean noWait;

        @Override
        public Integer call() throws Exception {
            try (OperatorClient c = target.connect()) {
                String state = c.get("/api/runs/" + run).path("state").asText();
                if (c.local() && !TERMINAL.contains(state)) {
                    // no process owned the work folder, so the run was left behind by one that stopped: the engine
                    // this command started takes its task over (Kestra's liveness check) and continues it
                    System.out.println("run " + run + " was left " + state + " by a stopped process; continuing it");
                } else {
                    String id = c.post("/api/runs/" + run + "/resume", "").path("id").asText(run);
                    System.out.println(id.equals(run) ? "resumed " + run
                            : "resumed " + run + " as " + id + " (a cancelled run continues as Kestra's replay)");
                    System.out.println("execution=" + id);
                    if (noWait && !c.local()) {
                        return 0;
                    }
                    return followToEnd(c, id);
                }
                return followToEnd(c, run);
            }
        }
    }

    /** {@code seed people}: the identities of a running server; only {@code add} for now. */
    @Command(name = "people", mixinStandardHelpOptions = true, description = "People of a running seed server.")
    public static final class PeopleRoot implements Runnable {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            spec.commandLine().usage(System.out);
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true,
            description = "Add a person (operator, auditor, annotator, importer) to a running seed server and print "
                    + "their token; the server owns the identity store, so this goes through its operator API.")
    public static final class People implements Callable<Integer> {
        @Parameters(index = "0", description = "name")
        String name;
        @Option(names = "--role", required = true, description = "operator, auditor, annotator or importer")
        String role;
        @Mixin
        Target target;

        @Override
        public Integer call() throws Exception {
            java.util.Optional<OperatorClient> live = target.live();
            if (live.isEmpty()) {
                System.err.println("no seed server owns " + target.work.toAbsolutePath().normalize() + " and no "
                        + "--server was given; without a server use seed annotate add-annotator --data-dir");
                return 2;
            }
            try (OperatorClient c = live.get()) {
                JsonNode r = c.post("/api/people", PRETTY.writeValueAsString(java.util.Map.of("name", name,
                        "role", role)));
                System.out.println("name=" + r.path("name").asText());
                System.out.println("role=" + r.path("role").asText());
                System.out.println("token=" + r.path("token").asText());
                return 0;
            }
        }
    }

    @Command(name = "flows", mixinStandardHelpOptions = true,
            description = "Seed's flows and their inputs: name, type and bounds, default, description. Starts nothing.")
    public static final class Flows implements Callable<Integer> {
        @Parameters(index = "0", arity = "0..1", description = "one flow (default: all)")
        String flow;

        @Override
        public Integer call() {
            for (var f : flow == null ? seed.workflows.engine.FlowInputs.all()
                    : List.of(seed.workflows.engine.FlowInputs.of(flow))) {
                System.out.println(seed.workflows.engine.FlowInputs.table(f));
            }
            return 0;
        }
    }
}
