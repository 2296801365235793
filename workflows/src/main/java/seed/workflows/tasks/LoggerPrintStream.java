package seed.workflows.tasks;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;

/**
 * The stages print progress lines to a {@link PrintStream}; inside Kestra those lines belong in the task's own logger,
 * so operators see them in {@code seed logs} and the execution's log stream. Each completed line becomes one INFO entry.
 */
final class LoggerPrintStream extends PrintStream {

    LoggerPrintStream(Logger logger) {
        super(new LineSink(logger), true, StandardCharsets.UTF_8);
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
                logger.info(line.toString(StandardCharsets.UTF_8));
                line.reset();
            }
        }
    }
}
