package seed.stages.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.model.Gpt;
import seed.stages.serve.OpenAiServer;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.train.Threads;

/** {@code seed serve}: a model behind OpenAI's HTTP API until the process is stopped. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a model with OpenAI's API: GET /v1/models, POST /v1/completions, POST /v1/chat/completions "
                + "(streaming as server-sent events); one decode loop batches all requests (continuous batching).")
public final class ServeCommand implements Callable<Integer> {

    @Option(names = "--model", description = "Checkpoint, run or model folder (or --alias).")
    Path model;

    @Option(names = "--alias", description = "Serve what this model-registry alias names (e.g. production) and "
            + "follow it: a new promotion is served without a restart.")
    String alias;

    @Option(names = "--poll-seconds", description = "How often --alias asks the registry (default: ${DEFAULT-VALUE}).")
    double pollSeconds = 5;

    @Option(names = "--lora", description = "LoRA adapters (PEFT folder) to apply to --model.")
    Path lora;

    /** Opens a registry alias; the full command line wires in the registry (training code never imports JDBC). */
    private final seed.stages.serve.ModelSource.Resolver registry;

    public ServeCommand() {
        this(alias -> {
            throw new IllegalArgumentException("--alias needs the model registry: run seed serve through bin/seed");
        });
    }

    public ServeCommand(seed.stages.serve.ModelSource.Resolver registry) {
        this.registry = registry;
    }

    @Option(names = "--served-model-name", description = "The model id clients name (default: the folder's name).")
    String name;

    @Option(names = "--host", description = "Address to bind (default: ${DEFAULT-VALUE}).")
    String host = "127.0.0.1";

    @Option(names = "--port", description = "Port (0 = any free one; default: ${DEFAULT-VALUE}).")
    int port = 8000;

    @Option(names = "--api-key", description = "Accept this bearer token (repeatable; none = no authentication).")
    List<String> apiKeys = new java.util.ArrayList<>();

    @Option(names = "--api-key-file", description = "Accept the bearer tokens in this file, one a line.")
    Path apiKeyFile;

    @Option(names = "--max-tokens", description = "Largest max_tokens a request may ask (default: ${DEFAULT-VALUE}).")
    int maxTokens = 4096;

    @Option(names = "--max-concurrent", description = "Requests generating at once; more get 429 "
            + "(default: ${DEFAULT-VALUE}).")
    int maxConcurrent = 64;

    @Option(names = "--max-batch", description = "Sequences per decode step; others wait (default: ${DEFAULT-VALUE}).")
    int maxBatch = 32;

    @Option(names = "--max-body-bytes", description = "Largest request body (default: ${DEFAULT-VALUE}).")
    int maxBodyBytes = 1 << 20;

    @Option(names = "--max-choices", description = "Largest n times prompts per request (default: ${DEFAULT-VALUE}).")
    int maxChoices = 16;

    @Option(names = "--stream-interval", description = "Tokens per streamed write (vLLM's; default: "
            + "${DEFAULT-VALUE} = every token).")
    int streamInterval = 1;

    @Option(names = "--threads", description = "libtorch intra-op threads (default: ${DEFAULT-VALUE}).")
    int threads = 1;

    @picocli.CommandLine.Mixin
    ComputeOptions compute = new ComputeOptions();

    @Override
    public Integer call() throws Exception {
        Threads.configure(threads);
        compute.apply();
        Set<String> keys = new HashSet<>(apiKeys);
        if (apiKeyFile != null) {
            for (String line : Files.readAllLines(apiKeyFile)) {
                if (!line.isBlank()) {
                    keys.add(line.trim());
                }
            }
        }
        if ((model == null) == (alias == null)) {
            throw new IllegalArgumentException("give exactly one of --model DIR and --alias NAME");
        }
        if (lora != null && model == null) {
            throw new IllegalArgumentException("--lora applies adapters to --model; give the base with --model");
        }
        seed.stages.serve.ModelSource source = alias != null ? registry.open(alias) : null;
        try {
            String served;
            String id;
            Gpt gpt;
            Tokenizer tokenizer;
            if (source != null) {
                seed.stages.serve.ModelWatcher.Loaded first = seed.stages.serve.ModelWatcher.load(source);
                served = name != null ? name : alias;
                id = first.id();
                gpt = first.model();
                tokenizer = first.tokenizer();
            } else {
                tokenizer = Checkpoints.loadTokenizer(model);
                served = name != null ? name : model.toAbsolutePath().normalize().getFileName().toString();
                gpt = lora != null ? withAdapters(model, lora) : Checkpoints.loadModel(model);
                id = served;
            }
            OpenAiServer.Settings settings = new OpenAiServer.Settings(host, port, served, maxBodyBytes, maxTokens,
                    maxConcurrent, maxChoices, maxBatch, keys).withStreamInterval(streamInterval);
            try (OpenAiServer server = OpenAiServer.startOwning(id, gpt, tokenizer, settings);
                 seed.stages.serve.ModelWatcher watcher = source == null ? null : seed.stages.serve.ModelWatcher.start(
                         source, server, java.time.Duration.ofMillis((long) (pollSeconds * 1000)))) {
                System.out.println("serving " + id + " at " + server.baseUrl()
                        + (keys.isEmpty() ? " (no API key needed)" : " (bearer tokens: " + keys.size() + ")")
                        + (source != null ? "; following " + source.describe() : ""));
                System.out.println("url=" + server.baseUrl());
                System.out.flush();
                CountDownLatch stopped = new CountDownLatch(1);
                Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown));
                stopped.await();
            }
        } finally {
            if (source != null) {
                source.close();
            }
        }
        return 0;
    }

    /** {@code base} with the LoRA adapters of {@code adapters} (a PEFT folder) added on top. */
    static Gpt withAdapters(Path base, Path adapters) throws java.io.IOException {
        if (!seed.stages.checkpoint.PeftAdapters.isAdapterFolder(adapters)) {
            throw new IllegalArgumentException("--lora " + adapters + " is not a LoRA adapter folder (it needs "
                    + seed.stages.checkpoint.PeftAdapters.CONFIG + " and " + seed.stages.checkpoint.PeftAdapters.WEIGHTS
                    + ")");
        }
        Gpt model = Checkpoints.mergedBase(base);
        try {
            model.addAdapters(seed.stages.checkpoint.PeftAdapters.readSettings(adapters), 0,
                    Checkpoints.modelFolder(base));
            model.loadAdapterWeights(seed.stages.checkpoint.PeftAdapters.readWeights(adapters));
            return model;
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }
}
