package seed.stages.control;

import java.util.concurrent.CancellationException;

/**
 * Lets a caller stop a long stage between steps: an orchestrator that cancels a run interrupts the stage's thread,
 * and every training or generation loop calls {@link #check} once per step. Stopping only between steps means the
 * last checkpoint written is complete (checkpoints are renamed into place), so a cancelled stage can be resumed.
 */
public final class Cancellation {

    private Cancellation() {
    }

    /** Throws {@link CancellationException} when the current thread was interrupted (the flag is kept set). */
    public static void check(String where) {
        if (Thread.currentThread().isInterrupted()) {
            throw new CancellationException(where + ": cancelled");
        }
    }
}
