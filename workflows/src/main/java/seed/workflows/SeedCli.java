package seed.workflows;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The root of the {@code seed} command line: every module contributes its own subcommands and this class only
 * assembles them, so the launcher ({@code bin/seed}) has one entry point for operators and auditors.
 */
@Command(name = "seed", mixinStandardHelpOptions = true, version = "seed 0.1.0",
        description = "Seed: pretraining, SFT and RLHF of decoder-only transformers on the JVM.")
public final class SeedCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Builds the full command tree; tests use this to run commands in-process. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new SeedCli());
        // Subcommands, one line each, grouped by module. Add yours on its own line.
        // -- stages
        cli.addSubcommand("pretrain", new seed.stages.cli.PretrainCommand());
        cli.addSubcommand("sft", new seed.stages.cli.SftCommand());
        cli.addSubcommand("generate", new seed.stages.cli.GenerateCommand());
        cli.addSubcommand("tokenizer", new seed.stages.cli.TokenizerCommand());
        // -- reward-model
        // -- annotation

        CommandLine bench = new CommandLine(new BenchCommand());
        // Benchmarks (`seed bench NAME`), one line each, grouped by module.
        // -- stages bench
        bench.addSubcommand("train", new seed.stages.cli.BenchTrainCommand());
        bench.addSubcommand("generate", new seed.stages.cli.BenchGenerateCommand());
        // -- reward-model / rlhf bench
        // -- annotation bench
        cli.addSubcommand("bench", bench);
        cli.setExecutionExceptionHandler(SeedCli::reportError);
        return cli;
    }

    /**
     * Turns an exception from a command into one clear line on stderr and exit code 1; the stack trace only with
     * SEED_DEBUG=1, so bad input reads as a message, not a crash.
     */
    private static int reportError(Exception e, CommandLine command, CommandLine.ParseResult parsed) {
        String message = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        if (e instanceof java.nio.file.NoSuchFileException missing) {
            message = missing.getFile() + ": " + (missing.getReason() != null ? missing.getReason() : "no such file");
        }
        command.getErr().println("seed " + command.getCommandName() + ": error: " + message);
        if ("1".equals(System.getenv("SEED_DEBUG"))) {
            e.printStackTrace(command.getErr());
        }
        return 1;
    }

    public static void main(String[] args) {
        int code = commandLine().execute(args);
        System.exit(code);
    }
}
