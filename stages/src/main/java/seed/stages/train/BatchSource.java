package seed.stages.train;

import java.util.List;

/**
 * Where a trainer's batches come from. Training batches are addressed by step number and must be a pure function of
 * (data, seed, step): that is what makes resume exact, since the "data position" of a run is just its step.
 */
public interface BatchSource {

    /** The training batch of optimizer step {@code step} (0-based). */
    Batch trainBatch(long step);

    /** Fixed held-out batches, the same at every evaluation. */
    List<Batch> validationBatches();

    /** One line describing the data for logs, e.g. "1,003,854 train tokens, 111,540 validation tokens". */
    String describe();
}
