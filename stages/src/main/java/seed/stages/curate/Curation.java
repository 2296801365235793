package seed.stages.curate;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import seed.stages.checkpoint.Hashes;

/**
 * The curation stage: raw documents in, the training corpus out, in datatrove's order: exact dedup, MinHash
 * near-dedup, Gopher quality, Gopher repetition, C4 line rules, decontamination, keyword/regex filters, then PII
 * scrubbing. Decontamination runs before PII scrubbing (not after, as the issue lists them) so that an evaluation
 * item holding an e-mail address still matches its copy in the corpus. Every dropped document is recorded with the
 * rule that dropped it ({@link CurateLedger}); the dedup rules compare with kept documents only, so the document a
 * duplicate repeats is in the corpus and a copy of a document another rule dropped is judged on its own (as
 * datatrove, which deduplicates what its filters kept). The corpus is written to a temporary file and moved into place.
 */
public final class Curation {

    private Curation() {
    }

    public static CurateResult run(CurateRequest request, PrintStream out) throws IOException {
        CurateSettings s = request.settings();
        long started = System.nanoTime();
        Decontamination decontamination = new Decontamination(s.decontaminateNgram(), s.decontaminateMinWords(),
                request.decontaminate(), s.split());
        if (!request.decontaminate().isEmpty()) {
            out.printf("curate: %,d evaluation n-grams from %d file(s)%n", decontamination.size(),
                    request.decontaminate().size());
        }
        KeywordFilter filters = new KeywordFilter(request.keywords(), request.regexes());
        Pipeline pipeline = new Pipeline(s, decontamination, filters);
        Files.createDirectories(request.reportDir());
        Path parent = request.out().toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path temp = Files.createTempFile(parent, "." + request.out().getFileName(), ".tmp");
        boolean jsonl = request.out().getFileName().toString().endsWith(".jsonl");
        CurateLedger ledger = new CurateLedger(request.reportDir(), s.examplesPerRule());
        long lastPrint = System.nanoTime();
        try (BufferedWriter corpus = Files.newBufferedWriter(temp, StandardCharsets.UTF_8)) {
            boolean first = true;
            Iterator<List<Document>> files = Documents.stream(request.in(), s.split());
            while (files.hasNext()) {
                for (Document d : files.next()) {
                    seed.stages.control.Cancellation.check("curate");
                    Pipeline.Decision decision = pipeline.decide(d);
                    ledger.record(d, decision);
                    if (decision.drop() == null) {
                        if (jsonl) {
                            corpus.write(CurateLedger.json(Map.of("id", d.id(), "text", decision.text())));
                            corpus.write('\n');
                        } else {
                            if (!first) {
                                corpus.write("\n\n");
                            }
                            corpus.write(decision.text());
                        }
                        first = false;
                    }
                    if (System.nanoTime() - lastPrint > 5_000_000_000L) {
                        lastPrint = System.nanoTime();
                        out.printf("curate: %,d documents, %.1f MB read, %,d kept%n", ledger.docsIn(),
                                ledger.bytesIn() / 1e6, ledger.docsOut());
                    }
                }
            }
        } catch (java.io.UncheckedIOException e) {
            Files.deleteIfExists(temp);
            throw e.getCause();
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        if (ledger.docsIn() == 0) {
            Files.deleteIfExists(temp);
            throw new IllegalArgumentException("no documents in " + request.in());
        }
        Files.move(temp, request.out(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        String sha = Hashes.sha256(request.out());
        double seconds = (System.nanoTime() - started) / 1e9;
        Map<String, Object> metrics = new LinkedHashMap<>(ledger.metrics());
        metrics.put("seconds", Math.round(seconds * 1000) / 1000.0);
        metrics.put("mb_per_s", Math.round(ledger.bytesIn() / 1e6 / Math.max(seconds, 1e-9) * 100) / 100.0);
        CurateLedger.Files written = ledger.write(s.values(), metrics);
        return new CurateResult(request.out(), sha, written.removed(), written.rules(), written.report(), metrics);
    }

    /** The rules in order, applied to one document at a time (the dedup rules remember what they have seen). */
    static final class Pipeline {

        /** A document's fate: dropped by {@code drop} (duplicating {@code duplicateOf}), or kept as {@code text}. */
        record Decision(String drop, String duplicateOf, String text, int c4LinesRemoved, PiiScrub.Result pii) {
        }

        private final ExactDedup exact;
        private final MinHashDedup minhash;
        private final GopherQuality quality;
        private final GopherRepetition repetition;
        private final C4Lines c4;
        private final Decontamination decontamination;
        private final KeywordFilter filters;
        private final PiiScrub pii;
        private final List<String> ids = new ArrayList<>();

        Pipeline(CurateSettings s, Decontamination decontamination, KeywordFilter filters) {
            exact = new ExactDedup(s.exactDedup());
            minhash = new MinHashDedup(s.minhash());
            quality = new GopherQuality(s.quality());
            repetition = new GopherRepetition(s.repetition());
            c4 = new C4Lines(s.c4());
            this.decontamination = decontamination;
            this.filters = filters;
            pii = new PiiScrub(s.pii());
        }

        Decision decide(Document d) {
            int index = ids.size();
            ids.add(d.id());
            if (d.text().isBlank()) {
                return new Decision("empty", null, null, 0, null);
            }
            Words w = Words.of(d.text());
            int earlier = exact.check(w);
            if (earlier >= 0) {
                return new Decision("exact_dedup", ids.get(earlier), null, 0, null);
            }
            earlier = minhash.check(w);
            if (earlier >= 0) {
                return new Decision("minhash_dedup", ids.get(earlier), null, 0, null);
            }
            String rule = quality.check(w);
            rule = rule != null ? rule : repetition.check(w);
            if (rule != null) {
                return new Decision(rule, null, null, 0, null);
            }
            C4Lines.Result cleaned = c4.apply(d.text());
            if (cleaned.drop() != null) {
                return new Decision(cleaned.drop(), null, null, 0, null);
            }
            Words after = cleaned.text() == d.text() ? w : Words.of(cleaned.text());
            if (decontamination.contaminated(after)) {
                return new Decision("decontamination", null, null, 0, null);
            }
            rule = filters.check(after);
            if (rule != null) {
                return new Decision(rule, null, null, 0, null);
            }
            exact.keep(index); // only kept documents are what later duplicates are compared with
            minhash.keep(index);
            PiiScrub.Result scrubbed = pii.apply(cleaned.text());
            return new Decision(null, null, scrubbed.text(), cleaned.linesRemoved(), scrubbed);
        }
    }
}
