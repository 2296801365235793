package seed.stages.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.curate.CurateRequest;
import seed.stages.curate.CurateResult;
import seed.stages.curate.CurateSettings;
import seed.stages.curate.Curation;

/**
 * {@code seed bench curate}: throughput of the whole curation pipeline on one thread (it is single-threaded; the reader's thread is the
 * only one working) over
 * a mixed corpus: the given text cut into documents, near-duplicate copies of some of them, and generated prose, so
 * every rule runs. Prints {@code mb_per_s=} (input megabytes per second, best of the rounds after a warm-up).
 */
@Command(name = "curate", mixinStandardHelpOptions = true,
        description = "Curation throughput on one core; prints mb_per_s= (name=value).")
public final class BenchCurateCommand implements Callable<Integer> {

    @Option(names = "--corpus", description = "A real text to mix in, cut into documents of ~2 KB (optional).")
    Path corpus;

    @Option(names = "--mb", description = "Megabytes of input to build (default: ${DEFAULT-VALUE}).")
    int megabytes = 50;

    @Option(names = "--rounds", description = "Timed rounds after one warm-up (default: ${DEFAULT-VALUE}).")
    int rounds = 3;

    @Option(names = "--decontaminate", description = "Evaluation files (default: 200 generated items).")
    List<Path> decontaminate = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("seed-bench-curate");
        try {
            return run(dir);
        } finally { // the input, corpus and report are hundreds of megabytes at --mb 100
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private int run(Path dir) throws Exception {
        Path input = dir.resolve("docs.jsonl");
        Path eval = dir.resolve("eval.jsonl");
        List<Path> evals = decontaminate.isEmpty() ? List.of(eval) : decontaminate;
        long bytes = BenchCorpus.write(input, eval, corpus, megabytes * 1_000_000L);
        System.err.printf("bench curate: %,d bytes of input in %s%n", bytes, input);
        double best = 0;
        double bestCpu = 0;
        CurateResult last = null;
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        for (int round = 0; round <= rounds; round++) {
            long t = System.nanoTime();
            long cpu = threads.getCurrentThreadCpuTime();
            last = Curation.run(new CurateRequest(input, dir.resolve("corpus.txt"), dir.resolve("report"), evals,
                    null, List.of(), CurateSettings.defaults()), System.err);
            double mbPerSecond = bytes / 1e6 / ((System.nanoTime() - t) / 1e9);
            double mbPerCpuSecond = bytes / 1e6 / ((threads.getCurrentThreadCpuTime() - cpu) / 1e9);
            System.err.printf("round %d%s: %.1f MB/s (%.1f MB per CPU second)%n", round,
                    round == 0 ? " (warm-up)" : "", mbPerSecond, mbPerCpuSecond);
            if (round > 0) {
                best = Math.max(best, mbPerSecond);
                bestCpu = Math.max(bestCpu, mbPerCpuSecond);
            }
        }
        System.out.printf("input_bytes=%d%ndocs_in=%s%ndocs_out=%s%n", bytes, last.metrics().get("docs_in"),
                last.metrics().get("docs_out"));
        // mb_per_cpu_s: the same work per second of this thread's CPU time, steadier on a shared machine
        System.out.printf("threads=1%nmb_per_cpu_s=%.2f%nmb_per_s=%.2f%n", bestCpu, best);
        return 0;
    }

    /** The benchmark's input: real text cut into documents, generated prose, and near-duplicates of both. */
    static final class BenchCorpus {
        private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
                new com.fasterxml.jackson.databind.ObjectMapper();
        private static final String[] WORDS = ("the of and to in a is that for it as was with be by on not he "
                + "this are or his from at which but have an they you were her she there been one all we their "
                + "river mountain city garden winter history science music market language family morning window "
                + "bridge letter station harbour forest machine village season journey question answer reason "
                + "measured carefully quickly quietly ancient modern simple common several different important "
                + "walked wrote built opened carried followed remembered discovered explained returned").split(" ");

        static long write(Path input, Path eval, Path real, long target) throws java.io.IOException {
            SplittableRandom random = new SplittableRandom(7);
            List<String> pieces = new ArrayList<>();
            if (real != null) {
                String text = Files.readString(real, StandardCharsets.UTF_8);
                for (int i = 0; i + 2000 <= text.length(); i += 2000) {
                    pieces.add(text.substring(i, i + 2000));
                }
            }
            List<String> evalItems = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                evalItems.add(prose(random, 1));
            }
            StringBuilder evalJson = new StringBuilder();
            for (String item : evalItems) {
                evalJson.append(json(item)).append('\n');
            }
            Files.writeString(eval, evalJson, StandardCharsets.UTF_8);
            long bytes = 0;
            int n = 0;
            try (var out = Files.newBufferedWriter(input, StandardCharsets.UTF_8)) {
                String previous = null;
                while (bytes < target) {
                    String doc;
                    int kind = random.nextInt(10);
                    if (kind < 3 && n / 3 < pieces.size()) { // each piece of the real text once
                        doc = pieces.get(n / 3);
                    } else if (kind == 3 && previous != null) {
                        doc = previous.replaceFirst(" the ", " a ") + " The end.";
                    } else if (kind == 4) {
                        doc = prose(random, 6) + " " + evalItems.get(random.nextInt(evalItems.size()));
                    } else {
                        doc = prose(random, 4 + random.nextInt(12));
                    }
                    previous = doc;
                    String line = json(doc);
                    out.write(line);
                    out.write('\n');
                    bytes += line.length() + 1;
                    n++;
                }
            }
            return bytes;
        }

        private static String prose(SplittableRandom random, int paragraphs) {
            StringBuilder sb = new StringBuilder();
            for (int p = 0; p < paragraphs; p++) {
                int sentences = 3 + random.nextInt(4);
                for (int s = 0; s < sentences; s++) {
                    int words = 6 + random.nextInt(12);
                    for (int w = 0; w < words; w++) {
                        String word = WORDS[random.nextInt(WORDS.length)];
                        sb.append(w == 0 ? Character.toUpperCase(word.charAt(0)) + word.substring(1) : word);
                        sb.append(w == words - 1 ? ". " : " ");
                    }
                }
                sb.setLength(sb.length() - 1);
                sb.append(p == paragraphs - 1 ? "" : "\n");
            }
            return sb.toString();
        }

        private static String json(String text) throws java.io.IOException {
            return JSON.writeValueAsString(java.util.Map.of("text", text));
        }
    }
}
