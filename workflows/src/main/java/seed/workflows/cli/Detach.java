package seed.workflows.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import seed.stages.checkpoint.Checkpoints;

/**
 * {@code seed run --detach}: the embedded engine lives in a background {@code seed run} process (its output in
 * {@code work/logs/}); this process waits for the execution id that process records, prints it and returns.
 */
final class Detach {

    private static final String LAUNCHED = "last-execution";

    private Detach() {
    }

    static int spawn(Path work, String flow, List<String> inputs) throws Exception {
        Path abs = work.toAbsolutePath().normalize();
        Path logs = Files.createDirectories(abs.resolve("logs"));
        Files.deleteIfExists(abs.resolve(LAUNCHED));
        String javaBin = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBin);
        cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("seed.workflows.SeedCli");
        cmd.add("run");
        cmd.add("--flow=" + flow);
        cmd.add("--work=" + abs);
        inputs.forEach(i -> cmd.add("--input=" + i));
        Path log = logs.resolve("run-" + System.currentTimeMillis() + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (System.nanoTime() < deadline) {
            java.util.Optional<String> launched = lastLaunched(abs);
            if (launched.isPresent()) {
                String id = launched.get();
                System.out.println("execution=" + id);
                System.out.println("log=" + log);
                System.out.println("follow with: seed logs " + id + " --follow --work " + work);
                return 0;
            }
            if (!p.isAlive()) {
                System.err.println("seed: the background run exited with " + p.exitValue() + " before launching; see "
                        + log);
                return 1;
            }
            Thread.sleep(250);
        }
        System.err.println("seed: the background run did not launch within 3 minutes; see " + log);
        return 1;
    }

    /** Written by the process that launched, for a detached parent (and as the last run of this work folder). */
    static void recordLaunched(Path work, String id) throws IOException {
        Checkpoints.writeAtomically(work.toAbsolutePath().normalize().resolve(LAUNCHED), id + "\n");
    }

    /** The id {@link #recordLaunched} wrote last in this work folder, if any. */
    static java.util.Optional<String> lastLaunched(Path work) throws IOException {
        Path last = work.toAbsolutePath().normalize().resolve(LAUNCHED);
        return Files.exists(last) ? java.util.Optional.of(Files.readString(last).strip()) : java.util.Optional.empty();
    }
}
