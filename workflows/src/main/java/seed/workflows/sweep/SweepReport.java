package seed.workflows.sweep;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import seed.stages.checkpoint.Checkpoints;
import seed.stages.metrics.SvgChart;

/**
 * A sweep's results in its folder: {@code trials.csv} (one row per trial run; the columns {@code params,tokens,loss}
 * are what {@code seed plan --fit} reads), {@code best.txt} ({@code name=value} lines), the charts (metric per trial
 * over steps, parallel coordinates of settings against the metric) and {@code report.html} with the table and charts.
 */
public final class SweepReport {

    /** The files written. */
    public record Written(Path csv, Path best, Path html, Path curves, Path parallel) {
    }

    private SweepReport() {
    }

    public static Written write(SweepState s, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> names = s.configs().isEmpty() ? List.of() : new ArrayList<>(s.configs().getFirst().keySet());
        StringBuilder csv = new StringBuilder("trial,rung,settings,steps,metric,seconds,computed_steps,params,tokens,loss,"
                + "checkpoint\n");
        for (SweepState.Run r : s.runs()) {
            csv.append(String.format(Locale.ROOT, "%d,%d,\"%s\",%d,%s,%.2f,%d,%d,%d,%s,\"%s\"%n", r.trial(), r.rung(),
                    settingsText(s.configs().get(r.trial()), " "), r.steps(), num(r.metric()), r.seconds(), r.computed(),
                    r.params(), r.tokens(), num(r.metric()), r.checkpoint()));
        }
        Path csvFile = dir.resolve("trials.csv");
        Checkpoints.writeAtomically(csvFile, csv.toString());

        Optional<SweepState.Run> best = s.best();
        StringBuilder bestText = new StringBuilder();
        best.ifPresent(b -> {
            s.configs().get(b.trial()).forEach((k, v) -> bestText.append(k).append('=').append(v).append('\n'));
            bestText.append("trial=").append(b.trial()).append('\n').append(s.metric()).append('=')
                    .append(num(b.metric())).append('\n').append("checkpoint=").append(b.checkpoint()).append('\n');
        });
        bestText.append(String.format(Locale.ROOT, "sweep_steps=%d%ngrid_steps=%d%nsteps_fraction=%.4f%n",
                s.computedSteps(), s.gridSteps(), s.gridSteps() == 0 ? 0.0 : (double) s.computedSteps() / s.gridSteps()));
        Path bestFile = dir.resolve("best.txt");
        Checkpoints.writeAtomically(bestFile, bestText.toString());

        SvgChart curves = new SvgChart(s.stage() + " sweep: " + s.metric() + " per trial", "step", s.metric());
        for (SweepState.Run r : s.runs()) {
            for (double[] p : r.curve()) {
                curves.add("trial " + r.trial(), p[0], p[1]);
            }
        }
        Path curvesFile = dir.resolve("metric-per-trial.svg");
        curves.write(curvesFile);

        ParallelCoordinates pc = new ParallelCoordinates(s.stage() + " sweep: settings against " + s.metric()
                + " (last rung each trial reached)", names);
        for (int t = 0; t < s.configs().size(); t++) {
            int trial = t;
            s.runs().stream().filter(r -> r.trial() == trial).reduce((a, b) -> b.rung() > a.rung() ? b : a)
                    .ifPresent(r -> pc.add(s.configs().get(trial), r.metric()));
        }
        Path pcFile = dir.resolve("parallel-coordinates.svg");
        Checkpoints.writeAtomically(pcFile, pc.render(s.metric()));

        Checkpoints.writeAtomically(dir.resolve("report.html"), html(s, best, names, curves.render(),
                pc.render(s.metric())));
        return new Written(csvFile, bestFile, dir.resolve("report.html"), curvesFile, pcFile);
    }

    private static String html(SweepState s, Optional<SweepState.Run> best, List<String> names, String curves,
            String parallel) {
        StringBuilder h = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\"><title>Seed sweep</title>"
                + "<style>body{font-family:sans-serif;margin:20px}table{border-collapse:collapse}td,th{padding:3px 8px;"
                + "border-bottom:1px solid #ddd;text-align:right}.best{background:#e6f0ff}</style></head><body>");
        h.append(String.format(Locale.ROOT, "<h1>Sweep of %s: %d settings, successive halving by %d, rungs %s</h1>",
                s.stage(), s.configs().size(), s.plan().eta(), s.plan().rungs()));
        h.append(String.format(Locale.ROOT, "<p>Optimizer steps computed: %,d of a full grid's %,d (%.1f%%); "
                + "promoted trials continued from their checkpoints.</p>", s.computedSteps(), s.gridSteps(),
                100.0 * s.computedSteps() / Math.max(1, s.gridSteps())));
        best.ifPresent(b -> h.append("<p><b>Best:</b> trial ").append(b.trial()).append(" (")
                .append(escape(settingsText(s.configs().get(b.trial()), ", "))).append("), ").append(s.metric())
                .append(' ').append(num(b.metric())).append("</p>"));
        h.append("<table><tr><th>trial</th><th>rung</th>");
        names.forEach(n -> h.append("<th>").append(escape(n)).append("</th>"));
        h.append("<th>steps</th><th>").append(escape(s.metric())).append("</th><th>computed steps</th><th>seconds</th></tr>");
        for (SweepState.Run r : s.runs()) {
            boolean isBest = best.isPresent() && best.get().equals(r);
            h.append(isBest ? "<tr class=\"best\">" : "<tr>").append("<td>").append(r.trial()).append("</td><td>")
                    .append(r.rung()).append("</td>");
            names.forEach(n -> h.append("<td>").append(escape(String.valueOf(s.configs().get(r.trial()).get(n))))
                    .append("</td>"));
            h.append(String.format(Locale.ROOT, "<td>%d</td><td>%s</td><td>%d</td><td>%.1f</td></tr>", r.steps(),
                    num(r.metric()), r.computed(), r.seconds()));
        }
        h.append("</table><div>").append(curves).append(parallel).append("</div></body></html>\n");
        return h.toString();
    }

    static String settingsText(Map<String, Object> settings, String sep) {
        return settings.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(sep));
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "NaN" : String.format(Locale.ROOT, "%.6f", v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
