package seed.workflows.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
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
                for (JsonNode r : c.get("/api/runs")) {
                    System.out.printf("%-24s %-20s %-10s %-26s %8.1f  %s%n", r.path("id").asText(),
                            r.path("flow").asText(), r.path("state").asText(), r.path("started").asText(),
                            r.path("duration_s").asDouble(), r.path("launched_by").asText());
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
                    System.out.printf("  %-12s %-10s attempt %d  %7.1f s%n", t.path("task").asText(),
                            t.path("state").asText(), t.path("attempt").asInt(), t.path("duration_s").asDouble());
                }
                for (JsonNode st : s.path("stages")) {
                    System.out.printf("  stage %s (%s) %s%n", st.path("flow").asText(), st.path("id").asText(),
                            st.path("state").asText());
                    for (JsonNode t : st.path("tasks")) {
                        System.out.printf("    %-12s %-10s attempt %d  %7.1f s  %s%n", t.path("task").asText(),
                                t.path("state").asText(), t.path("attempt").asInt(), t.path("duration_s").asDouble(),
                                t.path("outputs"));
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
                c.post("/api/runs/" + run + "/resume", "");
                System.out.println("resumed " + run);
                if (noWait && !c.local()) {
                    return 0;
                }
                Set<String> seen = new HashSet<>();
                while (true) {
                    printNewLogs(c, "/api/runs/" + run + "/logs", seen, false);
                    JsonNode s = c.get("/api/runs/" + run);
                    String state = s.path("state").asText();
                    if (TERMINAL.contains(state)) {
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
        }
    }
}
