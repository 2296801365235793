package seed.stages.model;

import ai.djl.pytorch.jni.JniUtils;

/**
 * Turns autograd recording off on the current thread for a scope and restores it after. Frozen models (the
 * reference policy, the reward model) and rollouts run inside one, so no graph is built through them and no
 * gradient can reach their parameters; DJL only turns grad mode off on the engine-loading thread by itself.
 */
public final class NoGrad implements AutoCloseable {

    private final boolean previous;

    private NoGrad() {
        ai.djl.engine.Engine.getEngine("PyTorch"); // the native calls below need the engine loaded
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
    }

    public static NoGrad enter() {
        return new NoGrad();
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
