package seed.stages.train;

/**
 * Sets libtorch's thread counts. They are read once, when the engine loads, so this must run before the first
 * NDArray is created; later calls with the same value are harmless, a different value is reported.
 */
public final class Threads {

    private static volatile boolean configured;

    private Threads() {
    }

    /** Uses {@code intraOp} threads for each op and one inter-op thread (robust on small machines). */
    public static void configure(int intraOp) {
        if (intraOp <= 0) {
            throw new IllegalArgumentException("--threads must be at least 1, got " + intraOp);
        }
        String previous = System.getProperty("ai.djl.pytorch.num_threads");
        if (configured && previous != null && !previous.equals(String.valueOf(intraOp))) {
            System.err.println("warning: this process already set libtorch to " + previous + " threads; --threads "
                    + intraOp + " takes effect in a new process");
            return;
        }
        System.setProperty("ai.djl.pytorch.num_threads", String.valueOf(intraOp));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        configured = true;
    }
}
