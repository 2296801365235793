package seed.workflows.tasks;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;

/**
 * The stages print progress lines to a {@link PrintStream}; inside Kestra those lines belong in the task's own logger,
 * so operators see them in {@code seed logs} and the execution's log stream. Each completed line becomes one INFO entry,
 * or a WARN entry when the stage says it is a warning ({@code pretrain: warning: ...}, {@code rlhf WARNING ...}), so
 * a run's warnings (e.g. a model not sized for its data) are among what a WARN filter shows.
 */
final class LoggerPrintStream extends PrintStream {

    LoggerPrintStream(Logger logger) {
        super(new LineSink(logger), true, StandardCharsets.UTF_8);
    }

    private static final java.util.regex.Pattern WARNING = java.util.regex.Pattern.compile(
            "^(\\w+:?\\s+)?(warning:|WARNING\\b)");

    /** A stage's warning line: {@code warning:} or {@code WARNING} first, or right after the stage's name. */
    static boolean isWarning(String line) {
        return WARNING.matcher(line).find();
    }

    private static final class LineSink extends OutputStream {
        private final Logger logger;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        LineSink(Logger logger) {
            this.logger = logger;
        }

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                flushLine();
            } else if (b != '\r') {
                line.write(b);
            }
        }

        @Override
        public synchronized void flush() {
            // a line is logged when it ends; a partial line waits for its newline (or close)
        }

        @Override
        public synchronized void close() {
            flushLine();
        }

        private void flushLine() {
            if (line.size() > 0) {
                String text = line.toString(StandardCharsets.UTF_8);
                if (isWarning(text)) {
                    logger.warn(text);
                } else {
                    logger.info(text);
                }
                line.reset();
            }
        }
    }
}
