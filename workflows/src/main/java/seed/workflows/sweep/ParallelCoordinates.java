package seed.workflows.sweep;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A parallel-coordinates chart as a self-contained SVG: one vertical axis per searched setting and one for the metric,
 * one line per trial, coloured from best (blue) to worst (red), so which settings go with a low loss shows at a glance.
 * Numeric settings spread on a linear (or, when they span more than a decade, log) axis; other values spread evenly.
 */
public final class ParallelCoordinates {

    private static final int WIDTH = 760, HEIGHT = 400, LEFT = 60, RIGHT = 60, TOP = 48, BOTTOM = 40;

    private final String title;
    private final List<String> axes;
    private final List<Map<String, Object>> rows = new ArrayList<>();
    private final List<Double> metrics = new ArrayList<>();

    /** {@code axes}: the settings' names, in order; the metric is the last axis. */
    public ParallelCoordinates(String title, List<String> axes) {
        this.title = title;
        this.axes = List.copyOf(axes);
    }

    /** One trial: its settings and its metric (non-finite metrics are skipped). */
    public ParallelCoordinates add(Map<String, Object> settings, double metric) {
        if (Double.isFinite(metric)) {
            rows.add(new LinkedHashMap<>(settings));
            metrics.add(metric);
        }
        return this;
    }

    public String render(String metricName) {
        int n = axes.size() + 1;
        double gap = (double) (WIDTH - LEFT - RIGHT) / Math.max(1, n - 1);
        int plotH = HEIGHT - TOP - BOTTOM;
        List<Axis> scales = new ArrayList<>();
        for (String a : axes) {
            scales.add(Axis.of(rows.stream().map(r -> r.get(a)).toList()));
        }
        scales.add(Axis.of(new ArrayList<>(metrics)));
        double lo = metrics.stream().mapToDouble(Double::doubleValue).min().orElse(0);
        double hi = metrics.stream().mapToDouble(Double::doubleValue).max().orElse(1);
        StringBuilder svg = new StringBuilder(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                + "width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">%n"
                + "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n"
                + "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>%n", WIDTH, HEIGHT, LEFT,
                escape(title)));
        for (int i = 0; i < rows.size(); i++) {
            StringBuilder pts = new StringBuilder();
            for (int a = 0; a < n; a++) {
                Object v = a < axes.size() ? rows.get(i).get(axes.get(a)) : metrics.get(i);
                double y = TOP + plotH - scales.get(a).position(v) * plotH;
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", LEFT + a * gap, y));
            }
            double t = hi > lo ? (metrics.get(i) - lo) / (hi - lo) : 0;
            svg.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"rgb(%d,%d,%d)\" stroke-width=\"%s\" "
                    + "stroke-opacity=\"0.8\" points=\"%s\"/>%n", (int) (30 + 200 * t), 80, (int) (230 - 200 * t),
                    t == 0 ? "3" : "1.4", pts.toString().trim()));
        }
        for (int a = 0; a < n; a++) {
            double x = LEFT + a * gap;
            String name = a < axes.size() ? axes.get(a) : metricName;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>"
                    + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\">%s</text>%n",
                    x, TOP, x, TOP + plotH, x, HEIGHT - 14, escape(name)));
            for (Map.Entry<String, Double> tick : scales.get(a).ticks().entrySet()) {
                svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%s</text>%n",
                        x + 4, TOP + plotH - tick.getValue() * plotH + 3, escape(tick.getKey())));
            }
        }
        return svg.append("</svg>\n").toString();
    }

    /** Maps a column's values to [0, 1]. */
    private record Axis(List<Object> categories, double lo, double hi, boolean log) {

        static Axis of(List<Object> values) {
            boolean numeric = !values.isEmpty() && values.stream().allMatch(v -> v instanceof Number);
            if (!numeric) {
                return new Axis(values.stream().map(String::valueOf).distinct().sorted().map(v -> (Object) v)
                        .toList(), 0, 0, false);
            }
            double lo = values.stream().mapToDouble(v -> ((Number) v).doubleValue()).min().orElse(0);
            double hi = values.stream().mapToDouble(v -> ((Number) v).doubleValue()).max().orElse(1);
            return new Axis(null, lo, hi, lo > 0 && hi / lo > 10);
        }

        double position(Object v) {
            if (categories != null) {
                int i = categories.indexOf(String.valueOf(v));
                return categories.size() == 1 ? 0.5 : (double) i / (categories.size() - 1);
            }
            double x = ((Number) v).doubleValue();
            if (hi == lo) {
                return 0.5;
            }
            return log ? Math.log(x / lo) / Math.log(hi / lo) : (x - lo) / (hi - lo);
        }

        Map<String, Double> ticks() {
            Map<String, Double> t = new LinkedHashMap<>();
            if (categories != null) {
                categories.forEach(c -> t.put(String.valueOf(c), position(c)));
            } else {
                t.put(String.format(Locale.ROOT, "%.3g", lo), position(lo));
                t.put(String.format(Locale.ROOT, "%.3g", hi), position(hi));
            }
            return t;
        }
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
