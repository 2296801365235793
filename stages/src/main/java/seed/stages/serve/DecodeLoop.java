package seed.stages.serve;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import seed.stages.generate.SamplingSettings;
import seed.stages.model.Gpt;
import seed.stages.model.KvCache;
import seed.stages.model.NoGrad;
import seed.stages.tokenizer.Tokenizer;

/**
 * Continuous batching: one thread owns the model and steps every running sequence together, one token each per
 * step, in one batched KV cache. Between steps, new sequences join (their prompts prefilled together, left-padded,
 * into a cache of their own, then merged in with {@link KvCache#merge}) and finished or cancelled ones leave (the
 * cache is rebuilt from the remaining rows; not at every end, see {@link #compactionDue}). Each sequence samples
 * with its own settings and sampler, so requests with different temperatures, penalties or seeds share a step. A
 * sequence's text depends only on its own prompt, settings and seed, not on what it was batched with (up to
 * floating-point summation order).
 */
public final class DecodeLoop implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DecodeLoop.class);

    private final Gpt model;
    private final Tokenizer tokenizer;
    /** The tokenizer's chat format: its end-of-turn tokens end a response as the end-of-text token does. */
    private final seed.stages.data.ChatFormat chatFormat;
    private final int maxBatch;
    private final LinkedBlockingQueue<Sequence> waiting = new LinkedBlockingQueue<>();
    private final List<Sequence> running = new ArrayList<>();
    private final Thread thread;
    private volatile boolean closed;
    private KvCache cache;
    /** The sequences in the current cache's rows, in row order (running is a subsequence of it until a rebuild). */
    private List<Sequence> cacheRows = new ArrayList<>();
    private final AtomicLong steps = new AtomicLong();
    private final AtomicLong stepRows = new AtomicLong();
    private final AtomicLong merges = new AtomicLong();
    /** Rows of finished sequences stepped along until the next compaction (see {@link #compactionDue}). */
    private final AtomicLong deadRows = new AtomicLong();
    /** The loop thread's CPU time (ns) in joins (prefill, cache merge), model steps, and sampling + events. */
    private final AtomicLong joinNanos = new AtomicLong();
    private final AtomicLong modelNanos = new AtomicLong();
    private final AtomicLong sampleNanos = new AtomicLong();
    private static final java.lang.management.ThreadMXBean CPU =
            java.lang.management.ManagementFactory.getThreadMXBean();

    /** Starts the loop thread; at most {@code maxBatch} sequences run at once, the others wait their turn. */
    public DecodeLoop(Gpt model, Tokenizer tokenizer, int maxBatch) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("max batch must be >= 1, got " + maxBatch);
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.chatFormat = seed.stages.data.ChatFormat.of(tokenizer);
        this.maxBatch = maxBatch;
        this.thread = new Thread(this::run, "seed-decode-loop");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** Queues a sequence; its events go to {@code events}. Fails if the prompt and max tokens exceed the context. */
    public Sequence submit(int index, int[] prompt, SamplingSettings settings, Sequence.Options options,
            BlockingQueue<Sequence.Event> events) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give at least one token");
        }
        int context = model.config().context();
        if (prompt.length + settings.maxNewTokens() > context) {
            throw new IllegalArgumentException("this model's maximum context length is " + context + " tokens; the "
                    + "prompt has " + prompt.length + " tokens and " + settings.maxNewTokens()
                    + " more were asked for");
        }
        if (closed) {
            throw new IllegalStateException("the server is shutting down");
        }
        Sequence s = new Sequence(index, prompt, settings, options, events);
        waiting.add(s);
        return s;
    }

    public int context() {
        return model.config().context();
    }

    /**
     * Decode steps run so far, the mean number of sequences per step (the batching achieved), the cache merges, and
     * where the loop thread's CPU time went: joins (prefill + merge), the model's steps, sampling and events. CPU
     * time, not wall time, so the split stays meaningful on a loaded machine.
     */
    public String stats() {
        long n = steps.get();
        return String.format("steps=%d mean_batch=%.2f merges=%d dead_rows=%d join_cpu_ms=%.1f model_cpu_ms=%.1f "
                + "sample_cpu_ms=%.1f", n, n == 0 ? 0.0 : (double) stepRows.get() / n, merges.get(),
                deadRows.get(), joinNanos.get() / 1e6, modelNanos.get() / 1e6, sampleNanos.get() / 1e6);
    }

    /** This thread's CPU time in ns (wall time where the JVM cannot measure CPU time). */
    private static long cpuNow() {
        long t = CPU.getCurrentThreadCpuTime();
        return t >= 0 ? t : System.nanoTime();
    }

    private void run() {
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager(model.device())) {
            List<Sequence> joiners = new ArrayList<>();
            while (!closed) {
                try {
                    if (running.isEmpty()) {
                        Sequence first = waiting.poll(100, TimeUnit.MILLISECONDS);
                        if (first == null) {
                            continue;
                        }
                        joiners.add(first);
                    }
                    waiting.drainTo(joiners, Math.max(0, maxBatch - running.size() - joiners.size()));
                    iterate(manager, joiners);
                } catch (InterruptedException e) {
                    break;
                } catch (RuntimeException e) {
                    LOG.error("decode loop step failed; failing its sequences", e);
                    for (Sequence s : running) {
                        s.events.add(new Sequence.Failed(s.index, String.valueOf(e.getMessage())));
                    }
                    for (Sequence s : joiners) {
                        s.events.add(new Sequence.Failed(s.index, String.valueOf(e.getMessage())));
                    }
                    running.clear();
                    closeCache();
                } finally {
                    joiners.clear();
                }
            }
            closeCache();
        }
        for (Sequence s : waiting) {
            s.events.add(new Sequence.Failed(s.index, "the server shut down"));
        }
    }

    /** One round: joins, leaves, then one decode step of everything running. */
    private void iterate(NDManager manager, List<Sequence> joiners) {
        long started = cpuNow();
        joiners.removeIf(Sequence::cancelled);
        boolean changed = compactionDue(joiners) && running.removeIf(DecodeLoop::gone);
        KvCache joined = null;
        List<Sequence> admitted = new ArrayList<>();
        if (!joiners.isEmpty()) {
            joined = model.newCache(manager.newSubManager(), joiners.size());
            prefill(manager, joiners, joined);
            for (Sequence s : joiners) {
                if (!s.finished) {
                    admitted.add(s);
                }
            }
            changed |= !admitted.isEmpty();
        }
        if (changed) {
            rebuild(manager, joiners, admitted, joined);
        } else if (joined != null) {
            joined.close();
        }
        if (running.isEmpty()) {
            closeCache();
            joinNanos.addAndGet(cpuNow() - started);
            return;
        }
        int[] tokens = new int[running.size()];
        int live = 0;
        for (int i = 0; i < tokens.length; i++) {
            Sequence s = running.get(i);
            tokens[i] = s.pending;
            if (gone(s)) {
                s.idleSteps++;
            } else {
                live++;
            }
        }
        long ready = cpuNow();
        joinNanos.addAndGet(ready - started);
        float[][] rows = model.nextLogits(tokens, cache);
        long stepped = cpuNow();
        modelNanos.addAndGet(stepped - ready);
        steps.incrementAndGet();
        stepRows.addAndGet(live);
        deadRows.addAndGet(tokens.length - live);
        for (int i = 0; i < rows.length; i++) {
            Sequence s = running.get(i);
            if (!gone(s)) {
                next(s, rows[i]);
            }
        }
        sampleNanos.addAndGet(cpuNow() - stepped);
    }

    private static boolean gone(Sequence s) {
        return s.finished || s.cancelled();
    }

    /**
     * Whether the rows of finished or cancelled sequences leave the cache now. Dropping rows copies the whole cache
     * (a few decode steps' worth of time at the benchmark size), while a finished row left in place costs only its
     * share of each batched step; in a batch whose sequences end a few steps apart, rebuilding at every end cost more
     * than the steps. So they leave when sequences join (the cache is rebuilt then anyway), when they are at least
     * half the batch, or before one of them would run past the context.
     */
    private boolean compactionDue(List<Sequence> joiners) {
        int dead = 0;
        for (Sequence s : running) {
            if (gone(s)) {
                dead++;
                if (s.prompt.length + s.produced.size() + s.idleSteps >= model.config().context()) {
                    return true;
                }
            }
        }
        return dead > 0 && (!joiners.isEmpty() || 2 * dead >= running.size());
    }

    /** The cache of the surviving running rows followed by the admitted joiners (joiners' cache rows by index). */
    private void rebuild(NDManager manager, List<Sequence> joiners, List<Sequence> admitted, KvCache joined) {
        List<KvCache> sources = new ArrayList<>();
        List<int[]> rows = new ArrayList<>();
        if (cache != null && !running.isEmpty()) {
            sources.add(cache);
            rows.add(runningRows());
        }
        if (!admitted.isEmpty()) {
            sources.add(joined);
            rows.add(admitted.stream().mapToInt(joiners::indexOf).toArray());
        }
        KvCache merged;
        if (sources.size() == 1 && sources.get(0) == joined && admitted.size() == joiners.size()) {
            merged = joined; // an idle loop's new batch: the joiners' own cache, rows already in order
        } else {
            merged = sources.isEmpty() ? null : KvCache.merge(manager.newSubManager(), sources, rows,
                    model.config().context());
            if (merged != null) {
                merges.incrementAndGet();
            }
            if (joined != null) {
                joined.close();
            }
        }
        closeCache();
        cacheRows = new ArrayList<>(running);
        running.addAll(admitted);
        cacheRows.addAll(admitted);
        cache = merged;
    }

    private int[] runningRows() {
        return running.stream().mapToInt(cacheRows::indexOf).toArray();
    }

    /** Prefills the joiners' prompts (left-padded, masked) into {@code into} and samples each one's first token. */
    private void prefill(NDManager manager, List<Sequence> joiners, KvCache into) {
        int batch = joiners.size();
        int longest = joiners.stream().mapToInt(s -> s.prompt.length).max().orElse(1);
        long[] ids = new long[batch * longest];
        float[] mask = new float[batch * longest];
        boolean padded = false;
        for (int b = 0; b < batch; b++) {
            int[] p = joiners.get(b).prompt;
            int pad = longest - p.length;
            padded |= pad > 0;
            for (int t = 0; t < longest; t++) {
                ids[b * longest + t] = t < pad ? tokenizer.endOfTextId() : p[t - pad];
                mask[b * longest + t] = t < pad ? 0f : 1f;
            }
        }
        try (NDManager step = manager.newSubManager()) {
            Shape shape = new Shape(batch, longest);
            NDArray logits = model.forward(step.create(ids, shape), padded ? step.create(mask, shape) : null, into);
            int vocab = (int) logits.getShape().get(2);
            float[] last = logits.get(new NDIndex(":, {}, :", longest - 1)).toFloatArray();
            for (int b = 0; b < batch; b++) {
                Sequence s = joiners.get(b);
                if (s.options.promptLogprobs()) {
                    scorePrompt(s, logits.get(b).toFloatArray(), longest - s.prompt.length, vocab);
                }
                if (s.settings.maxNewTokens() == 0) {
                    finish(s, "length");
                } else {
                    next(s, Arrays.copyOfRange(last, b * vocab, (b + 1) * vocab));
                }
            }
        }
    }

    /** Reports the log-probability of every prompt token after the first, from the prefill's logits (T, V). */
    private void scorePrompt(Sequence s, float[] all, int pad, int vocab) {
        int n = s.prompt.length;
        float[] logprobs = new float[n];
        List<Sequence.Alternative[]> top = new ArrayList<>();
        logprobs[0] = Float.NaN;
        top.add(new Sequence.Alternative[0]);
        for (int k = 1; k < n; k++) {
            float[] row = Arrays.copyOfRange(all, (pad + k - 1) * vocab, (pad + k) * vocab);
            double norm = LogProbs.logSumExp(row);
            logprobs[k] = (float) (row[s.prompt[k]] - norm);
            top.add(LogProbs.top(row, norm, s.options.topLogprobs()));
        }
        s.events.add(new Sequence.PromptScored(s.index, logprobs, top));
    }

    /** Samples a sequence's next token from its logits row, reports it, and ends the sequence if it is done. */
    private void next(Sequence s, float[] row) {
        int token = s.sampler.sample(row);
        float logprob = Float.NaN;
        Sequence.Alternative[] top = null;
        if (s.options.logprobs()) {
            double norm = LogProbs.logSumExp(row);
            logprob = (float) (row[token] - norm);
            top = LogProbs.top(row, norm, s.options.topLogprobs());
        }
        s.produced.add(token);
        s.pending = token;
        s.events.add(new Sequence.Token(s.index, token, logprob, top));
        if ((token == tokenizer.endOfTextId() || chatFormat.endsResponse(token)) && !s.options.ignoreEos()) {
            finish(s, "stop");
        } else if (hitStop(s)) {
            finish(s, "stop");
        } else if (s.produced.size() >= s.settings.maxNewTokens()
                || s.prompt.length + s.produced.size() >= model.config().context()) {
            finish(s, "length");
        }
    }

    private void finish(Sequence s, String reason) {
        s.finished = true;
        s.events.add(new Sequence.Finished(s.index, reason, s.produced.size()));
    }

    /** Whether the end of the sequence's text contains one of its stop strings (decodes a short tail only). */
    private boolean hitStop(Sequence s) {
        List<String> stops = s.settings.stop();
        if (stops.isEmpty()) {
            return false;
        }
        int longest = stops.stream().mapToInt(String::length).max().orElse(0);
        int from = Math.max(0, s.produced.size() - (4 * longest + 4)); // a character is at most 4 byte tokens
        int[] tail = s.produced.subList(from, s.produced.size()).stream().mapToInt(Integer::intValue).toArray();
        String text = TextAssembler.visible(tokenizer, tail);
        for (String stop : stops) {
            if (!stop.isEmpty() && text.contains(stop)) {
                return true;
            }
        }
        return false;
    }

    private void closeCache() {
        if (cache != null) {
            cache.close();
            cache = null;
        }
        cacheRows = new ArrayList<>();
    }

    /** Stops the loop; sequences still running or waiting get a {@link Sequence.Failed} event. */
    @Override
    public void close() {
        closed = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
