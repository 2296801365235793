package seed.stages.metrics;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import seed.stages.checkpoint.Checkpoints;

/**
 * A line chart as a self-contained SVG file (loss and reward curves in a run's report). Small on purpose: a few
 * series of (x, y) points, axes with ticks, a legend; opens in any browser, no charting library needed.
 */
public final class SvgChart {

    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
    private static final int WIDTH = 720, HEIGHT = 400, LEFT = 64, RIGHT = 150, TOP = 36, BOTTOM = 48;

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final Map<String, List<double[]>> series = new LinkedHashMap<>();

    public SvgChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    /** Adds a point to the named series (created on first use); non-finite values are skipped. */
    public SvgChart add(String name, double x, double y) {
        if (Double.isFinite(x) && Double.isFinite(y)) {
            series.computeIfAbsent(name, k -> new ArrayList<>()).add(new double[] {x, y});
        }
        return this;
    }

    /** Plots numeric field {@code yField} against {@code xField} for every metrics record that has both. */
    public SvgChart addFromMetrics(String name, List<Map<String, Object>> records, String xField, String yField) {
        for (Map<String, Object> r : records) {
            if (r.get(xField) instanceof Number x && r.get(yField) instanceof Number y) {
                add(name, x.doubleValue(), y.doubleValue());
            }
        }
        return this;
    }

    public boolean isEmpty() {
        return series.isEmpty();
    }

    /** Renders the chart and writes it atomically. */
    public void write(Path file) throws IOException {
        Checkpoints.writeAtomically(file, render());
    }

    public String render() {
        double minX = Double.MAX_VALUE, maxX = -Double.MAX_VALUE, minY = Double.MAX_VALUE, maxY = -Double.MAX_VALUE;
        for (List<double[]> points : series.values()) {
            for (double[] p : points) {
                minX = Math.min(minX, p[0]);
                maxX = Math.max(maxX, p[0]);
                minY = Math.min(minY, p[1]);
                maxY = Math.max(maxY, p[1]);
            }
        }
        if (series.isEmpty()) {
            minX = minY = 0;
            maxX = maxY = 1;
        }
        if (maxX == minX) {
            maxX = minX + 1;
        }
        if (maxY == minY) {
            maxY = minY + 1;
        }
        double padY = (maxY - minY) * 0.05;
        minY -= padY;
        maxY += padY;
        int plotW = WIDTH - LEFT - RIGHT, plotH = HEIGHT - TOP - BOTTOM;
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, HEIGHT));
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>%n",
                LEFT, escape(title)));
        svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                + "stroke=\"#888\"/>%n", LEFT, TOP, plotW, plotH));
        for (int i = 0; i <= 5; i++) {
            double fy = minY + (maxY - minY) * i / 5;
            double py = TOP + plotH - plotH * i / 5.0;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                    LEFT, py, LEFT + plotW, py, LEFT - 6, py + 4, tick(fy)));
            double fx = minX + (maxX - minX) * i / 5;
            double px = LEFT + plotW * i / 5.0;
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                    px, TOP + plotH + 18, tick(fx)));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                LEFT + plotW / 2, HEIGHT - 8, escape(xLabel)));
        svg.append(String.format(Locale.ROOT, "<text transform=\"translate(16,%d) rotate(-90)\" text-anchor=\"middle\">"
                + "%s</text>%n", TOP + plotH / 2, escape(yLabel)));
        int index = 0;
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            String color = COLORS[index % COLORS.length];
            StringBuilder points = new StringBuilder();
            for (double[] p : e.getValue()) {
                double px = LEFT + (p[0] - minX) / (maxX - minX) * plotW;
                double py = TOP + plotH - (p[1] - minY) / (maxY - minY) * plotH;
                points.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
            }
            String shape = e.getValue().size() == 1
                    ? String.format(Locale.ROOT, "<circle cx=\"%s\" cy=\"%s\" r=\"3\" fill=\"%s\"/>",
                            points.toString().trim().split(",")[0], points.toString().trim().split(",")[1], color)
                    : String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" "
                            + "points=\"%s\"/>", color, points.toString().trim());
            svg.append(shape).append('\n');
            int ly = TOP + 10 + 18 * index;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                    + "stroke-width=\"3\"/><text x=\"%d\" y=\"%d\">%s</text>%n",
                    LEFT + plotW + 10, ly, LEFT + plotW + 30, ly, color, LEFT + plotW + 36, ly + 4, escape(e.getKey())));
            index++;
        }
        return svg.append("</svg>\n").toString();
    }

    private static String tick(double v) {
        double a = Math.abs(v);
        if (a != 0 && (a >= 1e5 || a < 1e-2)) {
            return String.format(Locale.ROOT, "%.1e", v);
        }
        return a >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.3g", v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
