package seed.stages.curate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Why each document went: removed.jsonl (one line per dropped document: id, rule, bytes and, for duplicates, the
 * kept document it repeats), rules.tsv (per rule: documents and bytes removed, documents edited) and report.md (the
 * table, every setting, examples of removed documents). All files are written atomically.
 */
final class CurateLedger {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Table order: the pipeline's order of rule families, then the rule name. */
    private static final List<String> ORDER = List.of("empty", "exact_dedup", "minhash_dedup", "gopher_min",
            "gopher_max", "gopher_symbol", "gopher_dup", "gopher_top", "c4_", "decontamination", "keyword", "regex");

    /** One rule's row. */
    private static final class Row {
        long docs;
        long bytes;
        final List<String> examples = new ArrayList<>();
    }

    /** The files written. */
    record Files(Path removed, Path rules, Path report) {
    }

    private final Path dir;
    private final int examples;
    private final Path removedTemp;
    private final BufferedWriter removed;
    private final Map<String, Row> rows = new TreeMap<>((a, b) -> {
        int c = Integer.compare(rank(a), rank(b));
        return c != 0 ? c : a.compareTo(b);
    });
    private long docsIn;
    private long bytesIn;
    private long docsOut;
    private long bytesOut;
    private long c4Docs;
    private long c4Lines;
    private long c4Bytes;
    private long piiDocs;
    private long emails;
    private long phones;
    private long ips;

    CurateLedger(Path dir, int examples) throws IOException {
        this.dir = dir;
        this.examples = examples;
        removedTemp = java.nio.file.Files.createTempFile(dir, ".removed", ".tmp");
        removed = java.nio.file.Files.newBufferedWriter(removedTemp, StandardCharsets.UTF_8);
    }

    private static int rank(String rule) {
        for (int i = 0; i < ORDER.size(); i++) {
            if (rule.startsWith(ORDER.get(i))) {
                return i;
            }
        }
        return ORDER.size();
    }

    long docsIn() {
        return docsIn;
    }

    long bytesIn() {
        return bytesIn;
    }

    long docsOut() {
        return docsOut;
    }

    void record(Document d, Curation.Pipeline.Decision decision) throws IOException {
        long bytes = utf8Length(d.text());
        docsIn++;
        bytesIn += bytes;
        if (decision.drop() != null) {
            Row row = rows.computeIfAbsent(decision.drop(), r -> new Row());
            row.docs++;
            row.bytes += bytes;
            if (row.examples.size() < examples) {
                row.examples.add(d.id() + "\n" + abbreviate(d.text()));
            }
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("id", d.id());
            line.put("rule", decision.drop());
            line.put("bytes", bytes);
            if (decision.duplicateOf() != null) {
                line.put("duplicate_of", decision.duplicateOf());
            }
            removed.write(json(line));
            removed.write('\n');
            return;
        }
        long kept = utf8Length(decision.text());
        docsOut++;
        bytesOut += kept;
        if (decision.c4LinesRemoved() > 0) {
            c4Docs++;
            c4Lines += decision.c4LinesRemoved();
            c4Bytes += Math.max(0, bytes - kept);
        }
        if (decision.pii() != null && decision.pii().total() > 0) {
            piiDocs++;
            emails += decision.pii().emails();
            phones += decision.pii().phones();
            ips += decision.pii().ips();
        }
    }

    Map<String, Object> metrics() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("docs_in", docsIn);
        m.put("docs_out", docsOut);
        m.put("bytes_in", bytesIn);
        m.put("bytes_out", bytesOut);
        rows.forEach((rule, row) -> {
            m.put("removed_docs_" + rule, row.docs);
            m.put("removed_bytes_" + rule, row.bytes);
        });
        m.put("c4_lines_removed", c4Lines);
        m.put("c4_docs_edited", c4Docs);
        m.put("pii_emails", emails);
        m.put("pii_phones", phones);
        m.put("pii_ips", ips);
        return m;
    }

    /** Closes removed.jsonl and writes the table and the report. */
    Files write(Map<String, Object> settings, Map<String, Object> metrics) throws IOException {
        removed.close();
        Path removedFile = dir.resolve("removed.jsonl");
        java.nio.file.Files.move(removedTemp, removedFile, StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        StringBuilder tsv = new StringBuilder("rule\tdocs_removed\tbytes_removed\tdocs_edited\n");
        rows.forEach((rule, row) -> tsv.append(rule).append('\t').append(row.docs).append('\t').append(row.bytes)
                .append("\t0\n"));
        tsv.append("c4_lines\t0\t").append(c4Bytes).append('\t').append(c4Docs).append('\n');
        tsv.append("pii\t0\t0\t").append(piiDocs).append('\n');
        Path rules = atomic(dir.resolve("rules.tsv"), tsv.toString());
        StringBuilder md = new StringBuilder("# Curation report\n\n");
        md.append(String.format("%,d documents in (%,d bytes), %,d kept (%,d bytes).%n%n", docsIn, bytesIn, docsOut,
                bytesOut));
        md.append("| rule | documents removed | bytes removed | documents edited |\n|---|---:|---:|---:|\n");
        rows.forEach((rule, row) -> md.append(String.format("| %s | %,d | %,d | |%n", rule, row.docs, row.bytes)));
        md.append(String.format("| c4 lines (%,d lines) | | %,d | %,d |%n", c4Lines, c4Bytes, c4Docs));
        md.append(String.format("| pii (%,d e-mails, %,d phones, %,d IPs) | | | %,d |%n", emails, phones, ips,
                piiDocs));
        md.append("\n## Settings\n\n");
        settings.forEach((k, v) -> md.append("- `").append(k).append("` = `").append(v.toString().replace("\n", "\\n"))
                .append("`\n"));
        md.append("\n## Metrics\n\n");
        metrics.forEach((k, v) -> md.append("- `").append(k).append("=").append(v).append("`\n"));
        md.append("\n## Examples of removed documents\n");
        rows.forEach((rule, row) -> {
            md.append("\n### ").append(rule).append("\n");
            for (String example : row.examples) {
                int nl = example.indexOf('\n');
                md.append("\n`").append(example, 0, nl).append("`\n\n```text\n")
                        .append(example.substring(nl + 1).replace("```", "'''")).append("\n```\n");
            }
        });
        Path report = atomic(dir.resolve("report.md"), md.toString());
        return new Files(removedFile, rules, report);
    }

    private static Path atomic(Path target, String content) throws IOException {
        Path temp = java.nio.file.Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
        java.nio.file.Files.writeString(temp, content, StandardCharsets.UTF_8);
        return java.nio.file.Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }

    private static String abbreviate(String text) {
        return text.length() <= 600 ? text : text.substring(0, 600) + " [... " + (text.length() - 600) + " more chars]";
    }

    static long utf8Length(String s) {
        long n = 0;
        for (int i = 0, len = s.length(); i < len; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c)) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    static String json(Map<String, Object> value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
