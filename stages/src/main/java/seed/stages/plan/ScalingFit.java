package seed.stages.plan;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Fits a {@link ScalingLaw} to measured (params, tokens, loss) rows as Hoffmann et al. did for approach 3: minimise
 * the Huber loss (delta 1e-3) between log L and LSE(a - alpha log N, b - beta log D, e), with A = exp(a),
 * B = exp(b), E = exp(e), started from the best points of the paper's grid of initialisations and refined by
 * Nelder-Mead (the paper used L-BFGS; any local optimiser from those starts finds the same minimum).
 */
public final class ScalingFit {

    /** One measured run. */
    public record Row(double params, double tokens, double loss) {
    }

    /** The fitted law, the objective at it and the root-mean-square error of log L. */
    public record Result(ScalingLaw law, double huber, double rmseLog, int rows) {
    }

    static final double HUBER_DELTA = 1e-3;

    private ScalingFit() {
    }

    /** Reads a CSV with a header naming params, tokens and loss (other columns are ignored); see {@link #table}. */
    public static List<Row> read(Path csv) throws IOException {
        return table(csv).rows();
    }

    /**
     * The rows of a CSV with a header naming params, tokens and loss (other columns ignored, quoted cells with
     * commas allowed), or of a sweep folder's {@code trials.csv} ({@code seed plan --fit SWEEP}). A row whose loss is
     * NaN (a trial that diverged or produced no metric, as a sweep writes it) is skipped and counted; any other bad
     * cell is refused naming the file and line.
     */
    public static Table table(Path source) throws IOException {
        Path csv = Files.isDirectory(source) ? source.resolve("trials.csv") : source;
        if (!Files.isRegularFile(csv)) {
            throw new IllegalArgumentException(csv + " does not exist" + (csv == source ? ""
                    : " (a sweep folder holds trials.csv once a rung has finished)"));
        }
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        if (lines.isEmpty()) {
            throw new IllegalArgumentException(csv + ": empty (expected a header params,tokens,loss)");
        }
        List<String> header = cells(lines.get(0).toLowerCase(Locale.ROOT));
        int p = header.indexOf("params");
        int t = header.indexOf("tokens");
        int l = header.indexOf("loss");
        if (p < 0 || t < 0 || l < 0) {
            throw new IllegalArgumentException(csv + ": the header must name params, tokens and loss, got "
                    + lines.get(0));
        }
        List<Row> rows = new ArrayList<>();
        int skipped = 0;
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            List<String> cells = cells(line);
            try {
                Row row = new Row(Double.parseDouble(cells.get(p)), Double.parseDouble(cells.get(t)),
                        Double.parseDouble(cells.get(l)));
                if (Double.isNaN(row.loss())) {
                    skipped++;
                    continue;
                }
                if (!(row.params() > 0) || !(row.tokens() > 0) || !(row.loss() > 0) || Double.isInfinite(row.loss())) {
                    throw new IllegalArgumentException(csv + ":" + (i + 1) + ": params, tokens and loss must be > 0");
                }
                rows.add(row);
            } catch (NumberFormatException | IndexOutOfBoundsException e) {
                throw new IllegalArgumentException(csv + ":" + (i + 1) + ": not numbers in params, tokens, loss: "
                        + line);
            }
        }
        return new Table(rows, skipped);
    }

    /** The rows read and how many were skipped for a NaN loss. */
    public record Table(List<Row> rows, int skipped) {
    }

    /** One CSV line's cells, stripped; a double-quoted cell may hold commas ({@code ""} is a quote). */
    static List<String> cells(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cell.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    cell.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                out.add(cell.toString().strip());
                cell.setLength(0);
            } else {
                cell.append(c);
            }
        }
        out.add(cell.toString().strip());
        return out;
    }

    /** The law that best fits {@code rows} (at least 5: five constants). */
    public static Result fit(List<Row> rows) {
        if (rows.size() < 5) {
            throw new IllegalArgumentException("a scaling-law fit needs at least 5 runs (5 constants), got "
                    + rows.size());
        }
        int n = rows.size();
        double[] logN = new double[n];
        double[] logD = new double[n];
        double[] logL = new double[n];
        for (int i = 0; i < n; i++) {
            logN[i] = Math.log(rows.get(i).params());
            logD[i] = Math.log(rows.get(i).tokens());
            logL[i] = Math.log(rows.get(i).loss());
        }
        java.util.function.ToDoubleFunction<double[]> objective = th -> {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                double x = th[0] - th[3] * logN[i];
                double y = th[1] - th[4] * logD[i];
                double z = th[2];
                double m = Math.max(x, Math.max(y, z));
                double lse = m + Math.log(Math.exp(x - m) + Math.exp(y - m) + Math.exp(z - m));
                sum += huber(lse - logL[i]);
            }
            return sum;
        };
        // the paper's grid of initialisations: a, b in {0, 5, ..., 25}, e in {-1, -.5, ..., 1}, alpha, beta in
        // {0, 0.5, ..., 2}; the 24 best starts are refined
        List<double[]> starts = new ArrayList<>();
        for (int ai = 0; ai <= 5; ai++) {
            for (int bi = 0; bi <= 5; bi++) {
                for (int ei = -2; ei <= 2; ei++) {
                    for (int al = 0; al <= 4; al++) {
                        for (int be = 0; be <= 4; be++) {
                            starts.add(new double[] {5 * ai, 5 * bi, 0.5 * ei, 0.5 * al, 0.5 * be});
                        }
                    }
                }
            }
        }
        starts.sort(java.util.Comparator.comparingDouble(objective::applyAsDouble));
        double[] best = null;
        double bestValue = Double.POSITIVE_INFINITY;
        double[] step = {1, 1, 0.2, 0.1, 0.1};
        for (double[] start : starts.subList(0, Math.min(24, starts.size()))) {
            double[] x = start;
            for (int restart = 0; restart < 4; restart++) { // restarting Nelder-Mead un-sticks a collapsed simplex
                x = NelderMead.minimize(objective, x, step, 20_000, 1e-14);
            }
            double value = objective.applyAsDouble(x);
            if (value < bestValue) {
                bestValue = value;
                best = x;
            }
        }
        ScalingLaw law = new ScalingLaw(Math.exp(best[2]), Math.exp(best[0]), Math.exp(best[1]), best[3], best[4]);
        double squared = 0;
        for (int i = 0; i < n; i++) {
            double r = Math.log(law.loss(rows.get(i).params(), rows.get(i).tokens())) - logL[i];
            squared += r * r;
        }
        return new Result(law, bestValue, Math.sqrt(squared / n), n);
    }

    static double huber(double r) {
        double a = Math.abs(r);
        return a <= HUBER_DELTA ? 0.5 * r * r : HUBER_DELTA * (a - 0.5 * HUBER_DELTA);
    }
}
