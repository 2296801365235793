package seed.workflows;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code seed bench}: the group of benchmarks. Each prints machine-readable {@code name=value} lines so that
 * speed and memory targets are measured, not asserted in tests.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks that print machine-readable name=value lines.")
public final class BenchCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
