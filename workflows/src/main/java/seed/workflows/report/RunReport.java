package seed.workflows.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import seed.stages.checkpoint.Checkpoints;

/**
 * A run's report for people: the per-stage table (as text for the console and as HTML) and every chart the stages
 * drew, inlined so {@code report/index.html} is one self-contained file that can be mailed or archived.
 */
public final class RunReport {

    private RunReport() {
    }

    /** One line per stage: its name, then its numbers as name=value, in the order given. */
    public static String table(Map<String, Object> stages) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-10s  %s%n", "stage", "numbers"));
        for (Map.Entry<String, Object> stage : stages.entrySet()) {
            StringBuilder cells = new StringBuilder();
            if (stage.getValue() instanceof Map<?, ?> m) {
                m.forEach((k, v) -> cells.append(k).append('=').append(format(v)).append("  "));
            } else {
                cells.append(format(stage.getValue()));
            }
            sb.append(String.format("%-10s  %s%n", stage.getKey(), cells.toString().strip()));
        }
        return sb.toString();
    }

    /** Writes {@code dir/index.html}; returns its path. */
    public static Path write(Path dir, String runId, Map<String, Object> stages, List<String> charts)
            throws IOException {
        Files.createDirectories(dir);
        StringBuilder html = new StringBuilder("""
                <!doctype html><html><head><meta charset="utf-8"><title>Seed run</title>
                <style>body{font-family:sans-serif;margin:2em;max-width:1200px}td,th{padding:4px 10px;text-align:left;
                vertical-align:top;border-bottom:1px solid #ddd}.charts{display:flex;flex-wrap:wrap}.charts svg{margin:6px;border:1px solid #ddd}</style>
                </head><body>
                """);
        html.append("<h1>Seed run ").append(escape(runId)).append("</h1>\n<h2>Stages</h2>\n<table>\n");
        for (Map.Entry<String, Object> stage : stages.entrySet()) {
            html.append("<tr><th>").append(escape(stage.getKey())).append("</th><td>");
            if (stage.getValue() instanceof Map<?, ?> m) {
                m.forEach((k, v) -> html.append(escape(String.valueOf(k))).append(" = <b>")
                        .append(escape(format(v))).append("</b><br>"));
            } else {
                html.append(escape(format(stage.getValue())));
            }
            html.append("</td></tr>\n");
        }
        html.append("</table>\n<h2>Charts</h2>\n<div class=\"charts\">\n");
        for (String chart : charts) {
            Path p = Path.of(chart);
            if (Files.isRegularFile(p) && chart.endsWith(".svg")) {
                String svg = Files.readString(p);
                int start = svg.indexOf("<svg");
                html.append(start >= 0 ? svg.substring(start) : svg).append('\n');
            }
        }
        html.append("</div></body></html>\n");
        Path index = dir.resolve("index.html");
        Checkpoints.writeAtomically(index, html.toString());
        return index;
    }

    static String format(Object v) {
        if (v instanceof Double d) {
            return String.format("%.4f", d);
        }
        if (v instanceof Float f) {
            return String.format("%.4f", f);
        }
        // flow outputs arrive rendered as text: show decimals the same way
        if (v instanceof String s && s.matches("-?\\d+\\.\\d{5,}([eE]-?\\d+)?")) {
            return String.format("%.4f", Double.parseDouble(s));
        }
        return String.valueOf(v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
