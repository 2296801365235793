package seed.stages.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.stages.curate.CurateRequest;
import seed.stages.curate.CurateResult;
import seed.stages.curate.CurateSettings;
import seed.stages.curate.Curation;

/** {@code seed curate}: raw documents to a training corpus, with a record of what was removed and why. */
@Command(name = "curate", mixinStandardHelpOptions = true,
        description = "Clean raw documents into a pretraining corpus: exact and MinHash dedup, Gopher quality and "
                + "repetition rules, C4 line rules, decontamination, keyword/regex filters, PII placeholders. "
                + "Prints name=value lines.")
public final class CurateCommand implements Callable<Integer> {

    @Option(names = "--in", required = true, description = "A file or folder of documents: text files (see --set "
            + "split=file|blank-lines) and JSONL {\"text\"}.")
    Path in;

    @Option(names = "--out", required = true, description = "The corpus to write (.jsonl for JSON lines, else text "
            + "with documents separated by a blank line).")
    Path out;

    @Option(names = "--report", description = "Folder for removed.jsonl, rules.tsv, report.md (default: OUT.curate).")
    Path report;

    @Option(names = "--decontaminate", arity = "1..*", description = "Held-out or evaluation files (text or JSONL): "
            + "documents sharing a 13-gram with them are dropped.")
    List<Path> decontaminate = new ArrayList<>();

    @Option(names = "--keywords", description = "Word list, one a line: documents containing any are dropped.")
    Path keywords;

    @Option(names = "--filter-regex", description = "Drop documents matching this regular expression (repeatable).")
    List<String> regexes = new ArrayList<>();

    @Option(names = "--set", description = "A rule setting, name=value (repeatable), e.g. gopher_min_words=30, "
            + "c4=false, minhash_bands=20. The report lists every name and value. Settings and datatrove's "
            + "defaults: " + CurateSettings.SETTINGS_DOC + ".")
    List<String> set = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        CurateSettings settings = CurateSettings.parse(set);
        CurateResult r = Curation.run(new CurateRequest(in, out, report, decontaminate, keywords, regexes, settings),
                System.err);
        print(r.metrics());
        System.out.printf("removed=%s%nrules=%s%nreport=%s%ncorpus=%s%nsha256=%s%n", r.removed(), r.rules(),
                r.report(), r.corpus(), r.sha256());
        return 0;
    }

    static void print(Map<String, Object> metrics) {
        metrics.forEach((k, v) -> System.out.println(k + "=" + v));
    }
}
