package seed.workflows.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import seed.stages.checkpoint.Checkpoints;
import seed.workflows.lineage.Artifact;
import seed.workflows.lineage.RunManifest;
import seed.workflows.lineage.StepRecord;

/**
 * The run's report for people: {@code report/index.html} with the headline numbers, every step with its time,
 * metrics and output hashes, and the loss, reward and KL charts the stages wrote, side by side.
 */
final class Report {

    private Report() {
    }

    static Path write(Path runDir, RunManifest.Content run, Map<String, Object> headline) throws IOException {
        Path dir = Files.createDirectories(runDir.resolve("report"));
        StringBuilder html = new StringBuilder("""
                <!doctype html><html><head><meta charset="utf-8"><title>Seed run</title>
                <style>body{font-family:sans-serif;margin:2em;max-width:1200px}td,th{padding:4px 10px;text-align:left;
                vertical-align:top;border-bottom:1px solid #ddd}code{font-size:11px;color:#555}img{margin:6px;
                border:1px solid #ddd}</style></head><body>
                """);
        html.append("<h1>Seed run ").append(escape(run.runId())).append("</h1>\n<h2>Headline</h2>\n<table>\n");
        headline.forEach((k, v) -> html.append("<tr><th>").append(escape(k)).append("</th><td>")
                .append(escape(v instanceof Double d ? String.format("%.4f", d) : String.valueOf(v)))
                .append("</td></tr>\n"));
        html.append("</table>\n<h2>Charts</h2>\n");
        for (StepRecord step : run.steps()) {
            for (Map.Entry<String, Artifact> out : step.outputs().entrySet()) {
                if (out.getValue().path().endsWith(".svg")) {
                    html.append("<img src=\"").append(escape(dir.toAbsolutePath().relativize(
                            Path.of(out.getValue().path())).toString().replace('\\', '/'))).append("\" alt=\"")
                            .append(escape(step.name() + " " + out.getKey())).append("\">\n");
                }
            }
        }
        html.append("<h2>Steps (lineage: run.json)</h2>\n<table><tr><th>step</th><th>seconds</th><th>metrics</th>"
                + "<th>outputs (SHA-256)</th></tr>\n");
        for (StepRecord step : run.steps()) {
            html.append("<tr><td>").append(escape(step.name())).append("</td><td>")
                    .append(String.format("%.1f", step.seconds())).append("</td><td>")
                    .append(escape(String.valueOf(step.metrics()))).append("</td><td>");
            step.outputs().forEach((name, artifact) -> html.append(escape(name)).append(": <code>")
                    .append(escape(artifact.sha256())).append("</code><br>"));
            html.append("</td></tr>\n");
        }
        html.append("</table></body></html>\n");
        Path index = dir.resolve("index.html");
        Checkpoints.writeAtomically(index, html.toString());
        return index;
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
