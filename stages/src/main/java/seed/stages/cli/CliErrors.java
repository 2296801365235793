package seed.stages.cli;

import java.nio.file.NoSuchFileException;
import picocli.CommandLine;

/**
 * Turns an exception thrown by a command into one clear line on stderr and exit code 1 (the stack trace only with
 * SEED_DEBUG=1), so bad input reads as a message naming the problem, not as a crash. Installed on the root command.
 */
public final class CliErrors implements CommandLine.IExecutionExceptionHandler {

    @Override
    public int handleExecutionException(Exception e, CommandLine command, CommandLine.ParseResult parsed) {
        command.getErr().println("seed " + command.getCommandName() + ": error: " + describe(e));
        if ("1".equals(System.getenv("SEED_DEBUG"))) {
            e.printStackTrace(command.getErr());
        }
        return 1;
    }

    /** The message a user should read for {@code e}. */
    public static String describe(Throwable e) {
        if (e instanceof NoSuchFileException missing) {
            return missing.getFile() + ": " + (missing.getReason() != null ? missing.getReason() : "no such file");
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
