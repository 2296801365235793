package seed.workflows.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Stage output inside Kestra: each line one log entry, the stages' warnings (issue 21's data budget) at WARN. */
class LoggerPrintStreamTest {

    @Test
    void warningLinesAreLoggedAsWarnings() {
        Logger logger = (Logger) LoggerFactory.getLogger("seed.test.LoggerPrintStreamTest");
        ListAppender<ILoggingEvent> seen = new ListAppender<>();
        seen.start();
        logger.addAppender(seen);
        logger.setLevel(Level.INFO);
        try (LoggerPrintStream out = new LoggerPrintStream(logger)) {
            out.println("pretrain  step 10/300 loss 2.31");
            out.println("pretrain: warning: the run sees 0.70 tokens per parameter");
            out.println("rlhf      WARNING iteration 3: non-finite loss in a minibatch, its update skipped");
            out.println("warning: this process already set libtorch to 2 threads");
            out.println("sft       step 5: the warning signs are gone"); // a word, not a warning line
        }
        assertEquals(List.of(Level.INFO, Level.WARN, Level.WARN, Level.WARN, Level.INFO),
                seen.list.stream().map(ILoggingEvent::getLevel).toList());
        assertEquals("pretrain: warning: the run sees 0.70 tokens per parameter", seen.list.get(1).getFormattedMessage());
    }
}
