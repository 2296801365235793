package seed.workflows.pipeline;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.time.Duration;
import seed.annotation.Annotation;
import seed.annotation.core.Annotator;
import seed.annotation.core.Item;
import seed.annotation.core.RankingEvent;
import seed.annotation.core.Submission;
import seed.annotation.core.SubmitOutcome;
import seed.annotation.infra.InfraConfig;
import seed.annotation.snapshot.SnapshotInfo;
import seed.annotation.stats.Agreement;
import seed.reward.RewardModelTrainer;
import seed.reward.RewardResult;
import seed.reward.RewardSettings;
import seed.reward.Rlhf;
import seed.reward.data.Ranking;
import seed.reward.data.SyntheticPreferences;
import seed.stages.generate.Candidates;
import seed.stages.generate.SamplingSettings;
import seed.stages.rlhf.PpoResult;
import seed.stages.rlhf.PpoSettings;
import seed.stages.pretrain.PretrainRequest;
import seed.stages.pretrain.Pretraining;
import seed.stages.sft.Sft;
import seed.stages.sft.SftRequest;
import seed.stages.train.TrainResult;
import seed.stages.train.TrainSettings;
import seed.workflows.lineage.Artifact;
import seed.workflows.lineage.RunManifest;
import seed.workflows.lineage.StepRecord;

/**
 * Seed's main job: pretrain -> SFT -> candidates -> annotation -> reward model -> RLHF, chained in one resumable run. Each step reads artifacts of earlier steps and writes its
 * own under the run folder; when a step completes, its settings, inputs, outputs (with SHA-256) and metrics go into
 * {@code run.json}. Running again with the same folder resumes: a step whose recorded outputs still hash the same is
 * skipped, and a stage interrupted mid-way continues from its last checkpoint.
 */
public final class Pipeline {

    /** The work of one step: returns its outputs and metrics. */
    @FunctionalInterface
    interface StepBody {
        StepOutcome run() throws Exception;
    }

    /** What a step produced. */
    record StepOutcome(Map<String, Path> outputs, Map<String, Object> metrics) {
    }

    static final int CANDIDATES_K = 4;
    static final int SYNTHETIC_ANNOTATORS = 3;
    static final int ANNOTATORS_PER_ITEM = 2;
    static final double ANNOTATOR_NOISE = 0.1;

    private final PipelineSettings settings;
    private final PrintStream out;
    private final RunManifest manifest;

    public Pipeline(PipelineSettings settings, PrintStream out) throws IOException {
        this.settings = settings;
        this.out = out;
        Files.createDirectories(settings.out());
        this.manifest = RunManifest.openOrCreate(settings.out(), "run-" + Instant.now().toEpochMilli());
    }

    /** Runs every step not already done; returns the headline metrics of the run. */
    public Map<String, Object> run() throws Exception {
        Path dir = settings.out();
        Map<String, Object> headline = new LinkedHashMap<>();

        StepRecord data = step("data", Map.of("seed", settings.seed()), Map.of(), () -> {
            DemoData.DemoFiles files = DemoData.write(dir.resolve("data"), settings.seed(), 2000, 0.3, 256);
            Map<String, Path> outputs = new LinkedHashMap<>();
            outputs.put("corpus", settings.corpus() != null ? settings.corpus() : files.corpus());
            outputs.put("sft", settings.sftData() != null ? settings.sftData() : files.sft());
            outputs.put("prompts", files.prompts());
            outputs.put("heldout_prompts", files.heldOutPrompts());
            return new StepOutcome(outputs, Map.of());
        });

        TrainSettings pretrainSettings = TrainSettings.defaults().withSteps(settings.pretrainSteps());
        StepRecord pretrain = step("pretrain", describe(pretrainSettings), Map.of("corpus", path(data, "corpus")), () -> {
            TrainResult r = Pretraining.run(new PretrainRequest(path(data, "corpus"), dir.resolve("pretrain"), null,
                    settings.context(), settings.layers(), settings.dModel(), settings.heads(), pretrainSettings,
                    resumable(dir.resolve("pretrain")), 0), out);
            return new StepOutcome(Map.of("checkpoint", r.checkpoint(), "metrics", r.metrics(), "chart", r.lossChart()),
                    Map.of("val_loss", r.valLoss(), "train_loss", r.trainLoss()));
        });
        headline.put("pretrain_val_loss", pretrain.metrics().get("val_loss"));

        TrainSettings sftSettings = new TrainSettings(settings.sftSteps(), 16, 2e-3f, 2e-4f, 20, 0.0f, 1.0f, 100, 100, 2,
                settings.seed() + 1, 2000);
        StepRecord sft = step("sft", describe(sftSettings),
                Map.of("base", path(pretrain, "checkpoint"), "data", path(data, "sft")), () -> {
                    TrainResult r = Sft.run(new SftRequest(path(pretrain, "checkpoint"), path(data, "sft"),
                            dir.resolve("sft"), sftSettings, true, resumable(dir.resolve("sft")), 0), out);
                    return new StepOutcome(Map.of("checkpoint", r.checkpoint(), "metrics", r.metrics(), "chart",
                            r.lossChart()), Map.of("val_loss", r.valLoss(), "train_loss", r.trainLoss()));
                });
        headline.put("sft_val_loss", sft.metrics().get("val_loss"));

        SamplingSettings sampling = new SamplingSettings(1.0f, 0, 1f, 48, List.of(), settings.seed() + 2, true);
        StepRecord candidates = step("candidates", Map.of("k", CANDIDATES_K, "temperature", 1.0, "max_new_tokens", 48),
                Map.of("model", path(sft, "checkpoint"), "prompts", path(data, "prompts")), () -> {
                    Candidates.Result r = Candidates.generate(path(sft, "checkpoint"), path(data, "prompts"),
                            CANDIDATES_K, sampling, dir.resolve("candidates.jsonl"), out);
                    return new StepOutcome(Map.of("candidates", r.file()),
                            Map.of("prompts", r.prompts(), "responses", r.responses()));
                });

        StepRecord annotation = step("annotation", Map.of("annotators", SYNTHETIC_ANNOTATORS, "annotators_per_item",
                ANNOTATORS_PER_ITEM, "noise", ANNOTATOR_NOISE), Map.of("candidates", path(candidates, "candidates")),
                () -> annotate(path(candidates, "candidates"), dir.resolve("annotation")));
        headline.put("rankings", annotation.metrics().get("rankings"));
        headline.put("mean_kendall_w", annotation.metrics().get("mean_kendall_w"));

        RewardSettings rewardSettings = RewardSettings.defaults(path(sft, "checkpoint"), path(annotation, "snapshot"),
                dir.resolve("reward")).withSteps(settings.rewardSteps());
        StepRecord reward = step("reward", describe(rewardSettings),
                Map.of("base", path(sft, "checkpoint"), "rankings", path(annotation, "snapshot")), () -> {
                    RewardResult r = RewardModelTrainer.train(rewardSettings, out, 0);
                    return new StepOutcome(Map.of("model", r.modelDir(), "metrics", r.metrics(), "chart", r.chart()),
                            Map.of("val_accuracy", r.valAccuracy(), "val_loss", r.valLoss(), "held_out_pairs",
                                    r.heldOutPairs()));
                });
        headline.put("rm_val_accuracy", reward.metrics().get("val_accuracy"));

        PpoSettings ppo = PpoSettings.defaults(path(sft, "checkpoint"), path(reward, "model"), path(data, "prompts"),
                dir.resolve("rlhf")).withIterations(settings.ppoIterations()).withHeldOutFile(path(data,
                "heldout_prompts"))
                // PPO-ptx (InstructGPT): keep the SFT language-model loss in the mix so the policy cannot drift into
                // text the reward model never saw (measured here: rule rate 0.45 without it, 0.66 with it)
                .withPtx(path(data, "sft"), 0.5);
        StepRecord rlhf = step("rlhf", describe(ppo), Map.of("policy", path(sft, "checkpoint"), "reward",
                path(reward, "model"), "prompts", path(data, "prompts")), () -> {
                    PpoResult r = Rlhf.train(ppo, seed.stages.rlhf.PoliteCorrectRule.evaluator(), out);
                    Map<String, Object> metrics = new LinkedHashMap<>();
                    metrics.put("reward_gain", r.rewardGain());
                    metrics.put("kl", r.kl());
                    metrics.put("rule_rate_before", r.ruleRateBefore());
                    metrics.put("rule_rate_after", r.ruleRateAfter());
                    metrics.put("reference_frozen", r.referenceFrozen());
                    metrics.put("stopped_early", r.stoppedEarly());
                    return new StepOutcome(Map.of("policy", r.policyDir(), "metrics", r.metrics(), "reward_chart",
                            r.rewardChart(), "kl_chart", r.klChart()), metrics);
                });
        headline.putAll(rlhf.metrics());
        Report.write(dir, manifest.content(), headline);
        return headline;
    }

    /**
     * The annotation step: embedded (or configured) Kafka and PostgreSQL, candidates loaded as items, synthetic
     * annotators that rank by the known rule (with noise) and submit through the same validation and Kafka path as
     * the web page, ingestion into PostgreSQL, and an immutable snapshot for the reward model.
     */
    private StepOutcome annotate(Path candidatesFile, Path dataDir) throws Exception {
        InfraConfig config = InfraConfig.fromEnv(System.getenv(), dataDir);
        if (config.jdbcUrl() == null && Files.exists(dataDir)) {
            seed.stages.checkpoint.Checkpoints.deleteTree(dataDir); // an interrupted attempt: start the embedded DB anew
        }
        try (Annotation annotation = Annotation.start(config)) {
            annotation.loadCandidates(candidatesFile, ANNOTATORS_PER_ITEM);
            SplittableRandom random = new SplittableRandom(settings.seed() + 3);
            int accepted = 0;
            int refused = 0;
            for (int a = 1; a <= SYNTHETIC_ANNOTATORS; a++) {
                Annotator who = annotation.addAnnotator("synthetic-" + a, "annotator").annotator();
                Optional<Item> item;
                while ((item = annotation.nextItem(who)).isPresent()) {
                    Item it = item.get();
                    Ranking ranking = SyntheticPreferences.rank(it.prompt(), it.responses(), ANNOTATOR_NOISE, random);
                    List<Integer> order = java.util.Arrays.stream(ranking.order()).boxed().toList();
                    List<RankingEvent.Tie> ties = ranking.ties().stream().map(t -> new RankingEvent.Tie(t[0], t[1]))
                            .toList();
                    SubmitOutcome outcome = annotation.submit(who, new Submission(it.id(), order, ties, false,
                            List.of()), "synthetic");
                    if (outcome instanceof SubmitOutcome.Accepted) {
                        accepted++;
                    } else {
                        refused++;
                        out.println("annotation: refused " + outcome);
                    }
                }
            }
            annotation.ingestUntilCaughtUp(Duration.ofMinutes(2));
            SnapshotInfo snapshot = annotation.snapshot();
            Agreement.Report stats = annotation.stats();
            out.printf("annotation: %d rankings accepted, %d refused; snapshot %d (%d rankings, sha256 %s)%n", accepted,
                    refused, snapshot.id(), snapshot.count(), snapshot.sha256());
            Path copy = settings.out().resolve("preferences.jsonl");
            Files.copy(snapshot.path(), copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("rankings", snapshot.count());
            metrics.put("refused", refused);
            metrics.put("snapshot_id", snapshot.id());
            metrics.put("snapshot_sha256", snapshot.sha256());
            metrics.put("mean_kendall_w", stats.meanKendallW());
            return new StepOutcome(Map.of("snapshot", copy), metrics);
        }
    }

    /** A stage's run folder to resume from, when an earlier attempt left a complete checkpoint there. */
    private static Path resumable(Path stageDir) {
        return Files.exists(stageDir.resolve("latest")) ? stageDir : null;
    }

    private StepRecord step(String name, Map<String, Object> stepSettings, Map<String, Path> inputs, StepBody body)
            throws Exception {
        Optional<StepRecord> done = manifest.step(name);
        if (done.isPresent() && outputsIntact(done.get())) {
            out.printf("== %s: done earlier (outputs verified by SHA-256), skipped%n", name);
            return done.get();
        }
        out.printf("== %s%n", name);
        Instant started = Instant.now();
        Map<String, Artifact> inputArtifacts = new TreeMap<>(); // sorted keys: run.json is stable from run to run
        for (Map.Entry<String, Path> e : inputs.entrySet()) {
            inputArtifacts.put(e.getKey(), Artifact.of(e.getValue()));
        }
        StepOutcome outcome = body.run();
        Map<String, Artifact> outputArtifacts = new TreeMap<>();
        for (Map.Entry<String, Path> e : outcome.outputs().entrySet()) {
            outputArtifacts.put(e.getKey(), Artifact.of(e.getValue()));
        }
        Instant finished = Instant.now();
        StepRecord record = new StepRecord(name, started.toString(), finished.toString(),
                (finished.toEpochMilli() - started.toEpochMilli()) / 1000.0, new TreeMap<>(stepSettings),
                inputArtifacts, outputArtifacts, new TreeMap<>(outcome.metrics()));
        manifest.record(record);
        out.printf("== %s: done in %.1f s %s%n", name, record.seconds(), outcome.metrics());
        return record;
    }

    private static boolean outputsIntact(StepRecord record) throws IOException {
        for (Artifact a : record.outputs().values()) {
            if (!a.verify()) {
                return false;
            }
        }
        return true;
    }

    static Path path(StepRecord record, String output) {
        return Path.of(record.outputs().get(output).path());
    }

    private static Map<String, Object> describe(Object settingsRecord) {
        return new com.fasterxml.jackson.databind.ObjectMapper().convertValue(settingsRecord,
                new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() { });
    }

    public RunManifest manifest() {
        return manifest;
    }
}
