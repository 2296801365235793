package seed.workflows.registry;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import seed.workflows.lineage.ArtifactRef;

/**
 * What the end of a training flow does with its policy: it becomes {@code candidate}, and {@code production} only
 * when its evaluation passes the gates against production's recorded evaluation. Both changes are history rows naming
 * the same lineage task run (the caller records it), so an auditor finds why a model was or was not promoted.
 */
public final class Promotion {

    private Promotion() {
    }

    /**
     * The result: the candidate row, the production row if this run promoted, the gates' decision, and what it was
     * judged against.
     */
    public record Outcome(ModelRegistry.Entry candidate, ModelRegistry.Entry production,
            PromotionGates.Decision decision, ModelRegistry.Entry comparedWith) {

        public boolean promoted() {
            return production != null;
        }

        /** One line for the log and the task's output. */
        public String summary() {
            String against = comparedWith == null ? "no production model yet"
                    : "production " + comparedWith.modelId();
            if (production != null) {
                return "promoted " + production.modelId() + " to production (gates passed against " + against + ")";
            }
            if (comparedWith != null && comparedWith.sha256().equals(candidate.sha256())) {
                return candidate.modelId() + " is already production";
            }
            return "kept " + candidate.modelId() + " as candidate: gate(s) " + String.join(", ", decision.failed())
                    + " failed against " + against + " (" + decision.results().stream()
                            .filter(r -> r.verdict() == PromotionGates.Verdict.FAIL).map(Object::toString)
                            .reduce((a, b) -> a + "; " + b).orElse("") + ")";
        }
    }

    /**
     * Makes {@code model} the candidate and, if {@code gates} pass against current production, production.
     *
     * @param lineageTaskRun the lineage task run that records this promotion (signed, witnessed)
     */
    public static Outcome promote(ModelRegistry registry, ArtifactRef model, PromotionGates.Metrics metrics,
            PromotionGates gates, String who, String reason, String executionId, String lineageTaskRun) {
        Optional<ModelRegistry.Entry> production = registry.current(ModelRegistry.PRODUCTION);
        PromotionGates.Metrics theirs = production.map(p -> PromotionGates.Metrics.fromMap(p.metrics())).orElse(null);
        PromotionGates.Decision decision = gates.judge(metrics, theirs);
        Map<String, Object> gateRecord = new LinkedHashMap<>(decision.toMap());
        gateRecord.put("settings", gates.toMap());
        production.ifPresent(p -> gateRecord.put("compared_with", Map.of("seq", p.seq(), "sha256", p.sha256())));
        ModelRegistry.Entry candidate = registry.append(new ModelRegistry.Change(ModelRegistry.CANDIDATE,
                ModelRegistry.Action.CANDIDATE, model.sha256(), model.path(), who, reason, metrics.toMap(), gateRecord,
                executionId, lineageTaskRun));
        boolean already = production.isPresent() && production.get().sha256().equals(model.sha256());
        ModelRegistry.Entry promoted = null;
        if (decision.passed() && !already) {
            promoted = registry.append(new ModelRegistry.Change(ModelRegistry.PRODUCTION, ModelRegistry.Action.PROMOTE,
                    model.sha256(), model.path(), who, reason, metrics.toMap(), gateRecord, executionId,
                    lineageTaskRun));
        }
        return new Outcome(candidate, promoted, decision, production.orElse(null));
    }
}
