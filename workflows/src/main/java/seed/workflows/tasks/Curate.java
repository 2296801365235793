package seed.workflows.tasks;

import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.stages.curate.CurateRequest;
import seed.stages.curate.CurateResult;
import seed.stages.curate.CurateSettings;
import seed.stages.curate.Curation;

/** Data curation as a Kestra task: raw documents to the pretraining corpus, with a ledger of what went and why. */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Clean raw documents into a pretraining corpus (before stage 1).",
        description = "Exact and MinHash dedup, Gopher quality and repetition rules, C4 line rules, decontamination "
                + "against evaluation files, keyword filters and PII placeholders, datatrove's defaults. Every rule "
                + "setting addresses the store and enters the lineage record; removed.jsonl says why each document "
                + "went.")
@Plugin(examples = @Example(title = "Curate a folder of documents", full = true, code = """
        id: curate
        namespace: seed
        tasks:
          - id: curate
            type: seed.workflows.tasks.Curate
            documents: /data/raw
            decontaminate: /data/eval/test.jsonl
            settings:
              gopher_min_words: 30
              split: blank-lines
              c4_terminal_punctuation: false
        """))
public class Curate extends SeedTask<Curate.Output> {

    @Schema(title = "Raw documents: a file or folder of text files and JSONL {\\\"text\\\"}")
    @NotNull
    private Property<String> documents;

    @Schema(title = "Held-out and evaluation files (comma-separated): documents sharing a 13-gram with them go")
    @Builder.Default
    private Property<String> decontaminate = Property.ofValue("");

    @Schema(title = "A word list, one a line: documents with any of the words go (empty = none)")
    @Builder.Default
    private Property<String> keywords = Property.ofValue("");

    @Schema(title = "Regular expressions: documents with a match go (e.g. an offensive-word pattern)")
    @Builder.Default
    private Property<List<String>> filterRegex = Property.ofValue(List.of());

    @Schema(title = "Rule settings: a map of setting name to a boolean, number or string, e.g. "
            + "{gopher_min_words: 30, c4: false}; unset ones keep datatrove's defaults. Checked before anything runs: "
            + "an unknown name or a value of the wrong type fails the task naming the setting.",
            description = "Settings (type) = datatrove's default: " + CurateSettings.SETTINGS_DOC)
    @Builder.Default
    private Property<Map<String, Object>> settings = Property.ofValue(Map.of());

    @Override
    protected Output execute(RunContext rc) throws Exception {
        CurateSettings rules = rules(renderedSettings(rc));
        Path docs = existing(rc, documents, "documents");
        List<Path> evals = new ArrayList<>();
        for (String p : optional(rc, decontaminate, String.class, "").split(",")) {
            if (!p.isBlank()) {
                Path file = Path.of(p.strip());
                if (!java.nio.file.Files.exists(file)) {
                    throw new IllegalArgumentException("input 'decontaminate': " + file + " does not exist");
                }
                evals.add(file);
            }
        }
        String keywordName = optional(rc, keywords, String.class, "");
        Path wordList = keywordName.isBlank() ? null : existing(rc, keywords, "keywords");
        @SuppressWarnings("unchecked")
        List<String> regexes = filterRegex == null ? List.of()
                : (List<String>) rc.render(filterRegex).asList(String.class);
        Map<String, Object> address = new LinkedHashMap<>(rules.values()); // every rule and threshold, defaults too
        if (!regexes.isEmpty()) {
            address.put("filter_regex", regexes);
        }
        Map<String, Path> inputs = new LinkedHashMap<>();
        inputs.put("documents", docs);
        for (int i = 0; i < evals.size(); i++) {
            inputs.put("decontaminate_" + i, evals.get(i));
        }
        if (wordList != null) {
            inputs.put("keywords", wordList);
        }
        Result r = stage(rc, "curate", address, inputs, (dir, console) -> {
            CurateResult c = Curation.run(new CurateRequest(docs, dir.resolve("corpus.txt"), dir.resolve("report"),
                    evals, wordList, regexes, rules), console);
            Map<String, Path> outputs = new LinkedHashMap<>();
            outputs.put("corpus", c.corpus());
            outputs.put("removed", c.removed());
            outputs.put("rules", c.rules());
            outputs.put("report", c.report());
            return new StageOutcome(outputs, c.metrics());
        });
        return Output.builder().corpus(r.path("corpus")).sha256(r.sha256("corpus")).removed(r.path("removed"))
                .rules(r.path("rules")).report(r.path("report")).reused(r.reused())
                .docsIn(((Number) r.metric("docs_in")).longValue()).docsOut(((Number) r.metric("docs_out")).longValue())
                .bytesIn(((Number) r.metric("bytes_in")).longValue())
                .bytesOut(((Number) r.metric("bytes_out")).longValue()).build();
    }

    /** The {@code settings} map as rendered; anything that is not a map (e.g. the old "name=value" text) refused. */
    private Map<String, Object> renderedSettings(RunContext rc) {
        if (settings == null) {
            return Map.of();
        }
        try {
            return rc.render(settings).asMap(String.class, Object.class);
        } catch (Exception e) {
            throw new IllegalArgumentException("input 'settings' must be a map of setting name to value, e.g. "
                    + "{\"gopher_min_words\": 30, \"c4\": false}: " + e.getMessage(), e);
        }
    }

    /** The rendered {@code settings} checked against every rule's settings, the input named in any refusal. */
    static CurateSettings rules(Map<String, Object> rendered) {
        try {
            return CurateSettings.ofTyped(rendered);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("input 'settings': " + e.getMessage(), e);
        }
    }

    /** What later tasks read: {@code {{ outputs.curate.corpus }}} is the pretraining corpus. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "The cleaned corpus (text, documents separated by a blank line)")
        private final String corpus;
        @Schema(title = "SHA-256 of the corpus")
        private final String sha256;
        @Schema(title = "removed.jsonl: each removed document's id, rule, bytes and the document it duplicates")
        private final String removed;
        @Schema(title = "rules.tsv: documents and bytes removed per rule")
        private final String rules;
        @Schema(title = "report.md: the table, every setting, examples of removed documents")
        private final String report;
        @Schema(title = "Documents read")
        private final long docsIn;
        @Schema(title = "Documents kept")
        private final long docsOut;
        @Schema(title = "Bytes read")
        private final long bytesIn;
        @Schema(title = "Bytes written")
        private final long bytesOut;
        @Schema(title = "True when an earlier identical run was reused")
        private final boolean reused;
    }
}
