package seed.workflows.lineage;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import seed.annotation.Annotation;
import seed.annotation.core.Annotator;
import seed.annotation.core.Item;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.Submission;
import seed.annotation.core.SubmitOutcome;
import seed.annotation.infra.InfraConfig;
import seed.annotation.snapshot.SnapshotInfo;
import seed.annotation.snapshot.SnapshotScope;
import seed.reward.RewardModelTrainer;
import seed.reward.RewardResult;
import seed.reward.RewardSettings;
import seed.reward.Rlhf;
import seed.reward.data.Ranking;
import seed.reward.demo.SyntheticPreferences;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.generate.Candidates;
import seed.stages.generate.SamplingSettings;
import seed.stages.pretrain.PretrainRequest;
import seed.stages.pretrain.Pretraining;
import seed.stages.rlhf.PpoResult;
import seed.stages.rlhf.PpoSettings;
import seed.stages.sft.Sft;
import seed.stages.sft.SftRequest;
import seed.stages.train.TrainResult;
import seed.stages.train.TrainSettings;
import seed.workflows.demo.DemoData;

/**
 * A demo-shaped run at a tiny size, recorded the way Seed's Kestra tasks record it: every step calls the real stage
 * API (DJL training, real candidates, synthetic annotators ranking through the real Kafka -> PostgreSQL path, a real
 * snapshot, reward model, PPO) between {@link Lineage#started} and {@link Lineage#finished}. One parent execution
 * (seed.three-stage) with a subflow execution per stage. Built once per test JVM and shared by the lineage tests.
 */
final class TinyChain {

    static final String MAIN_EXECUTION = "7kQxMainExec0001";
    static final String NS = "seed";

    final Path dir;
    final Annotation annotation;
    final Path keyDir;
    final Path openLineageFile;
    final Lineage lineage;
    final Map<String, Path> artifacts = new LinkedHashMap<>();
    final Map<String, String> executionOf = new LinkedHashMap<>();
    final Set<Long> annotatorIds = new LinkedHashSet<>();
    long snapshotId;
    int rankings;
    final String log;

    private static TinyChain shared;

    /** The chain, built on first use (about half a minute) and closed when the JVM exits. */
    static synchronized TinyChain get() throws Exception {
        if (shared == null) {
            Path dir = Files.createTempDirectory("seed-lineage-test-");
            shared = new TinyChain(dir);
            TinyChain c = shared;
            Runtime.getRuntime().addShutdownHook(new Thread(c::close));
        }
        return shared;
    }

    private TinyChain(Path dir) throws Exception {
        this.dir = dir;
        Path run = dir.resolve("runs/demo");
        this.annotation = Annotation.start(InfraConfig.embedded(run.resolve("annotation")));
        this.keyDir = Lineage.defaultKeyDir(run.resolve("annotation"));
        this.openLineageFile = run.resolve("annotation/openlineage.jsonl");
        this.lineage = Lineage.open(annotation.infra().dataSource(), keyDir,
                Optional.of(annotation.infra().kafkaBootstrap()), Optional.of(openLineageFile), Optional.empty());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        build(run, out);
        this.log = bytes.toString(StandardCharsets.UTF_8);
    }

    /** One recorded task run: start record, the body, end record (FAILED with the error if the body throws). */
    interface Body {
        Result run() throws Exception;
    }

    record Result(List<ArtifactRef> outputs, Map<String, Object> metrics, Long snapshotId) {
    }

    TaskRunRecord task(String flowId, String taskId, String stage, Map<String, Object> settings, List<ArtifactRef> inputs,
            Body body) throws Exception {
        String execution = executionOf.computeIfAbsent(flowId, f -> "exec-" + f.replace('.', '-') + "-" + executionOf.size());
        TaskRunRecord start = TaskRunRecord.started(execution, MAIN_EXECUTION, NS, flowId, 3, taskId,
                "tr-" + taskId + "-" + System.nanoTime() % 100000, stage, "alice", 1, "cpu", settings, inputs, null);
        lineage.started(start);
        Result r;
        try {
            r = body.run();
        } catch (Exception e) {
            lineage.finished(start.finish(TaskRunRecord.Status.FAILED, List.of(), Map.of("error", e.toString())));
            throw e;
        }
        TaskRunRecord end = start.withSnapshotId(r.snapshotId()).finish(TaskRunRecord.Status.SUCCESS, r.outputs(), r.metrics());
        lineage.finished(end);
        return end;
    }

    private void build(Path run, PrintStream out) throws Exception {
        long seed = 11;
        Path dataDir = run.resolve("data");
        task("seed.data", "demo_data", "data", Map.of("seed", seed, "sft_examples", 200, "prompts", 12), List.of(), () -> {
            DemoData.DemoFiles f = DemoData.write(dataDir, seed, 200, 0.3, 12);
            artifacts.put("corpus", f.corpus());
            artifacts.put("sft_data", f.sft());
            artifacts.put("prompts", f.prompts());
            artifacts.put("heldout", f.heldOutPrompts());
            return new Result(List.of(ArtifactRef.of("corpus", f.corpus(), "corpus"),
                    ArtifactRef.of("sft", f.sft(), "dataset"), ArtifactRef.of("prompts", f.prompts(), "prompts"),
                    ArtifactRef.of("heldout_prompts", f.heldOutPrompts(), "prompts")), Map.of(), null);
        });

        TrainSettings pre = new TrainSettings(8, 4, 3e-3f, 3e-4f, 2, 0.0f, 1.0f, 8, 8, 1, seed, 60000);
        task("seed.pretrain", "pretrain", "pretrain", describe(pre, Map.of("context", 96, "layers", 1, "d_model", 32, "heads", 2)),
                List.of(ArtifactRef.of("corpus", artifacts.get("corpus"), "corpus")), () -> {
                    TrainResult r = Pretraining.run(new PretrainRequest(artifacts.get("corpus"), run.resolve("pretrain"),
                            null, 96, 1, 32, 2, pre, null, 0), out);
                    artifacts.put("base", r.checkpoint());
                    return new Result(List.of(ArtifactRef.of("checkpoint", r.checkpoint(), "checkpoint")),
                            Map.of("val_loss", r.valLoss(), "train_loss", r.trainLoss()), null);
                });

        TrainSettings sftSettings = new TrainSettings(8, 4, 2e-3f, 2e-4f, 2, 0.0f, 1.0f, 8, 8, 1, seed + 1, 60000);
        task("seed.sft", "sft", "sft", describe(sftSettings, Map.of("truncate_left", true)),
                List.of(ArtifactRef.of("base", artifacts.get("base"), "checkpoint"),
                        ArtifactRef.of("data", artifacts.get("sft_data"), "dataset")), () -> {
                    TrainResult r = Sft.run(new SftRequest(artifacts.get("base"), artifacts.get("sft_data"),
                            run.resolve("sft"), sftSettings, true, null, 0), out);
                    artifacts.put("sft", r.checkpoint());
                    return new Result(List.of(ArtifactRef.of("checkpoint", r.checkpoint(), "checkpoint")),
                            Map.of("val_loss", r.valLoss()), null);
                });

        SamplingSettings sampling = new SamplingSettings(1.0f, 0, 1f, 12, List.of(), seed + 2, true);
        task("seed.annotate", "candidates", "candidates", Map.of("k", 3, "max_new_tokens", 12, "seed", seed + 2),
                List.of(ArtifactRef.of("model", artifacts.get("sft"), "checkpoint"),
                        ArtifactRef.of("prompts", artifacts.get("prompts"), "prompts")), () -> {
                    Candidates.Result r = Candidates.generate(artifacts.get("sft"), artifacts.get("prompts"), 3,
                            sampling, run.resolve("candidates.jsonl"), out);
                    artifacts.put("candidates", r.file());
                    return new Result(List.of(ArtifactRef.of("candidates", r.file(), "candidates")),
                            Map.of("prompts", r.prompts(), "responses", r.responses()), null);
                });

        task("seed.annotate", "rankings", "snapshot", Map.of("annotators", 3, "annotators_per_item", 2, "noise", 0.1),
                List.of(ArtifactRef.of("candidates", artifacts.get("candidates"), "candidates")), () -> {
                    List<Long> items = annotation.loadCandidates(artifacts.get("candidates"), 2).itemIds();
                    SplittableRandom random = new SplittableRandom(seed + 3);
                    List<Annotator> people = new ArrayList<>();
                    for (int a = 1; a <= 3; a++) {
                        Annotator who = annotation.addAnnotator("synthetic-" + a + "-" + System.nanoTime() % 10000,
                                "annotator").annotator();
                        annotatorIds.add(who.id());
                        people.add(who);
                    }
                    boolean progress = true;
                    while (progress) { // round robin, so every annotator ranks and items overlap between them
                        progress = false;
                        for (Annotator who : people) {
                            Optional<Item> item = annotation.nextItem(who);
                            if (item.isEmpty()) {
                                continue;
                            }
                            progress = true;
                            Ranking ranking = SyntheticPreferences.rank(item.get().prompt(), item.get().responses(), 0.1, random);
                            // an 8-step model's answers all score alike under the rule: these annotators break
                            // ties by the rule's order instead of declaring them, so every ranking yields pairs
                            List<RankingEvent.Tie> ties = List.of();
                            SubmitOutcome o = annotation.submit(who, new Submission(item.get().id(),
                                    Arrays.stream(ranking.order()).boxed().toList(), ties, false, List.of()), "synthetic");
                            if (!(o instanceof SubmitOutcome.Accepted)) {
                                throw new IllegalStateException("ranking refused: " + o);
                            }
                        }
                    }
                    annotation.ingestUntilCaughtUp(Duration.ofMinutes(1));
                    SnapshotInfo s = annotation.snapshot(SnapshotScope.items(items));
                    snapshotId = s.id();
                    rankings = s.count();
                    artifacts.put("snapshot", s.path());
                    return new Result(List.of(ArtifactRef.of("snapshot", s.path(), "snapshot")),
                            Map.of("rankings", s.count()), s.id());
                });

        RewardSettings rs = new RewardSettings(artifacts.get("sft"), artifacts.get("snapshot"), run.resolve("reward"), 4, 4,
                1e-3f, 1e-4f, 1, 0.0f, 1.0f, 0.25, 4, 4, 1, 60000);
        task("seed.reward", "train_reward", "reward", describe(rs, Map.of()),
                List.of(ArtifactRef.of("base", artifacts.get("sft"), "checkpoint"),
                        ArtifactRef.of("rankings", artifacts.get("snapshot"), "snapshot")), () -> {
                    RewardResult r = RewardModelTrainer.train(rs, out, 0);
                    artifacts.put("reward", r.modelDir());
                    return new Result(List.of(ArtifactRef.of("model", r.modelDir(), "reward_model")),
                            Map.of("val_accuracy", r.valAccuracy()), null);
                });

        PpoSettings ppo = PpoSettings.defaults(artifacts.get("sft"), artifacts.get("reward"), artifacts.get("prompts"),
                run.resolve("rlhf")).withIterations(1).withRollout(r -> r.withBatch(4, 1).withMaxNewTokens(10))
                .withHeldOutFile(artifacts.get("heldout"));
        task("seed.rlhf", "ppo", "rlhf", describe(ppo, Map.of()),
                List.of(ArtifactRef.of("policy", artifacts.get("sft"), "checkpoint"),
                        ArtifactRef.of("reward", artifacts.get("reward"), "reward_model"),
                        ArtifactRef.of("prompts", artifacts.get("prompts"), "prompts"),
                        ArtifactRef.of("heldout_prompts", artifacts.get("heldout"), "prompts")), () -> {
                    PpoResult r = Rlhf.train(ppo, out);
                    artifacts.put("policy", r.policyDir());
                    return new Result(List.of(ArtifactRef.of("policy", r.policyDir(), "policy")),
                            Map.of("reward_gain", r.rewardGain(), "kl", r.kl()), null);
                });
    }

    private static Map<String, Object> describe(Object settings, Map<String, Object> extra) {
        Map<String, Object> m = new LinkedHashMap<>(CanonicalJson.JSON.convertValue(settings,
                new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() { }));
        m.replaceAll((k, v) -> v instanceof Path p ? p.toString() : v);
        m.putAll(extra);
        return m;
    }

    /** Stage names of the recorded task runs, for messages. */
    List<String> stages() {
        return new ArrayList<>(List.of("data", "pretrain", "sft", "candidates", "snapshot", "reward", "rlhf"));
    }

    void close() {
        lineage.close();
        annotation.close();
        try {
            Checkpoints.deleteTree(dir);
        } catch (Exception e) {
            // temp folder: best effort
        }
    }
}
