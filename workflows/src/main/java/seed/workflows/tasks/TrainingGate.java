package seed.workflows.tasks;

import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One training stage at a time in this JVM. DJL's PyTorch engine allows one open {@code GradientCollector} per process
 * (a static flag, not per thread), while Kestra's worker runs several tasks at once: two training stages on two worker
 * threads (a relaunched run next to the run Kestra resubmitted from a killed process, sweep trials with concurrency
 * above one, two runs on one server) made the second one fail mid-step with "A PtGradientCollector is already
 * collecting". Training tasks take this gate for their whole stage, so the second one waits for the first and then
 * runs; tasks that only infer never take it.
 */
final class TrainingGate {

    private static final ReentrantLock GATE = new ReentrantLock(true);
    private static volatile String holder = "";

    private TrainingGate() {
    }

    /** The gate, held until closed. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Waits for the gate (printing who holds it every minute through {@code progress}), or throws
     * {@link CancellationException} when the waiting thread is interrupted (Kestra's kill).
     */
    static Held enter(String who, Consumer<String> progress) {
        try {
            if (!GATE.tryLock()) {
                progress.accept(who + ": waiting for " + holder + " to finish (one training stage at a time per "
                        + "process: DJL records gradients for one model at a time)");
                while (!GATE.tryLock(60, TimeUnit.SECONDS)) {
                    progress.accept(who + ": still waiting for " + holder);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException(who + ": cancelled while waiting for " + holder);
        }
        holder = who;
        return () -> {
            holder = "";
            GATE.unlock();
        };
    }
}
