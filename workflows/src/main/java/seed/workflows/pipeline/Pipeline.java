package seed.workflows.pipeline;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
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
 * Seed's main job: the stages chained in one resumable run. Each step reads artifacts of earlier steps and writes its
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
        return headline;
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
        Map<String, Artifact> inputArtifacts = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : inputs.entrySet()) {
            inputArtifacts.put(e.getKey(), Artifact.of(e.getValue()));
        }
        StepOutcome outcome = body.run();
        Map<String, Artifact> outputArtifacts = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : outcome.outputs().entrySet()) {
            outputArtifacts.put(e.getKey(), Artifact.of(e.getValue()));
        }
        Instant finished = Instant.now();
        StepRecord record = new StepRecord(name, started.toString(), finished.toString(),
                (finished.toEpochMilli() - started.toEpochMilli()) / 1000.0, stepSettings, inputArtifacts,
                outputArtifacts, outcome.metrics());
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
