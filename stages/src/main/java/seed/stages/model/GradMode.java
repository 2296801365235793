package seed.stages.model;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Turns libtorch's gradient recording off for the calling thread. Needed because DJL's grad mode is per thread and
 * only the engine-loading thread starts with it off: inference on any other thread (a worker, a server, a test)
 * would otherwise record graphs it never uses. Loads the engine first, since the native call needs it.
 */
public final class GradMode {

    private GradMode() {
    }

    public static void disableOnThisThread() {
        Engine.getEngine("PyTorch");
        JniUtils.setGradMode(false);
    }
}
