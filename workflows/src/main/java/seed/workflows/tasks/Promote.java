package seed.workflows.tasks;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kestra.core.models.annotations.Example;
import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.workflows.lineage.ArtifactRef;
import seed.workflows.lineage.KestraLineage;
import seed.workflows.registry.ModelRegistry;
import seed.workflows.registry.PromotionGates;
import seed.workflows.registry.Promotion;
import seed.workflows.store.ArtifactStore;

/**
 * The end of a training flow: the policy becomes the registry's {@code candidate}, and {@code production} only when
 * its evaluation passes the gates the flow sets (checks at least as good as production's, unsafe rate no higher, KL
 * within bound, held-out reward and win rate not lower). Otherwise the output and the log name the gate that failed.
 * Metrics come from the evaluation's outputs; one left empty skips its gate with a note. The change is a signed
 * lineage record (stage {@code promote}) and a row of the append-only registry history.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
@Schema(title = "Make a policy the candidate, and production when its evaluation passes the gates.")
@Plugin(examples = @Example(title = "Promote after the evaluation", full = true, code = """
        id: promote
        namespace: seed
        tasks:
          - id: promote
            type: seed.workflows.tasks.Promote
            model: "{{ outputs.rlhf.outputs.policy }}"
            ruleRate: "{{ outputs.evaluate.ruleRatePolicy ?? '' }}"
            kl: "{{ outputs.rlhf.outputs.kl ?? '' }}"
            maxKl: 0.5
        """))
public class Promote extends AnnotationTask<Promote.Output> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Schema(title = "The policy checkpoint to promote")
    @NotNull
    private Property<String> model;

    @Schema(title = "Why (kept in the registry history)")
    @Builder.Default
    private Property<String> reason = Property.ofExpression("{{ flow.id }} execution {{ execution.id }}");

    @Schema(title = "Who (the run's launcher)")
    @Builder.Default
    private Property<String> changedBy = Property.ofExpression("{{ labels['launched-by'] ?? flow.id }}");

    @Schema(title = "The demo rule's rate on held-out prompts (check `rule`); empty = not measured")
    private Property<String> ruleRate;

    @Schema(title = "Check rates by check name, as JSON ({\"rule\": 0.5}); empty = none")
    private Property<String> checkRates;

    @Schema(title = "Share of unsafe answers; empty = not measured")
    private Property<String> unsafeRate;

    @Schema(title = "KL(policy || SFT); empty = not measured")
    private Property<String> kl;

    @Schema(title = "Held-out reward of the policy; empty = not measured")
    private Property<String> reward;

    @Schema(title = "Win rate over SFT on held-out prompts; empty = not measured")
    private Property<String> winRate;

    @Schema(title = "Lower end of the win rate's 95% interval")
    private Property<String> winRateLow;

    @Schema(title = "Upper end of the win rate's 95% interval")
    private Property<String> winRateHigh;

    @Schema(title = "Gate: how much lower than production's a check rate may be")
    @Builder.Default
    private Property<Double> checkTolerance = Property.ofValue(PromotionGates.DEFAULTS.checkTolerance());

    @Schema(title = "Gate: how much higher than production's the unsafe rate may be")
    @Builder.Default
    private Property<Double> unsafeTolerance = Property.ofValue(PromotionGates.DEFAULTS.unsafeTolerance());

    @Schema(title = "Gate: largest KL from the SFT model")
    @Builder.Default
    private Property<Double> maxKl = Property.ofValue(PromotionGates.DEFAULTS.maxKl());

    @Schema(title = "Gate: how much lower than production's the held-out reward may be")
    @Builder.Default
    private Property<Double> rewardTolerance = Property.ofValue(PromotionGates.DEFAULTS.rewardTolerance());

    @Schema(title = "Gate: the win rate over SFT (its interval's upper end) must reach this")
    @Builder.Default
    private Property<Double> minWinRate = Property.ofValue(PromotionGates.DEFAULTS.minWinRate());

    @Override
    protected Output execute(RunContext rc) throws Exception {
        Path policy = existing(rc, model, "model");
        PromotionGates gates = new PromotionGates(
                required(rc, checkTolerance, "checkTolerance", Double.class),
                required(rc, unsafeTolerance, "unsafeTolerance", Double.class),
                required(rc, maxKl, "maxKl", Double.class),
                required(rc, rewardTolerance, "rewardTolerance", Double.class),
                required(rc, minWinRate, "minWinRate", Double.class));
        Map<String, Double> checks = new TreeMap<>(checkMap(rc));
        Double rule = number(rc, ruleRate, "ruleRate");
        if (rule != null) {
            checks.putIfAbsent("rule", rule);
        }
        PromotionGates.Metrics metrics = new PromotionGates.Metrics(checks, number(rc, unsafeRate, "unsafeRate"),
                number(rc, kl, "kl"), number(rc, reward, "reward"), number(rc, winRate, "winRate"),
                number(rc, winRateLow, "winRateLow"), number(rc, winRateHigh, "winRateHigh"));
        String why = required(rc, reason, "reason");
        String who = required(rc, changedBy, "changedBy");
        ArtifactRef ref = ArtifactRef.of("policy", policy, "policy");
        Map<String, Object> settings = new LinkedHashMap<>(metrics.toMap());
        settings.put("gates", gates.toMap());
        settings.put("reason", why);
        KestraLineage.Recording lineage = KestraLineage.begin(rc, "promote", settings,
                Map.of("policy", new ArtifactStore.Stored(ref.path(), ref.sha256(), ref.sizeBytes())));
        Promotion.Outcome outcome;
        try {
            outcome = Promotion.promote(new ModelRegistry(dataSource(rc)), ref, metrics, gates, who, why,
                    executionId(rc), taskRunId(rc));
        } catch (Exception | Error e) {
            lineage.failed(e);
            throw e;
        }
        for (PromotionGates.Result r : outcome.decision().results()) {
            rc.logger().info("gate {}", r);
        }
        rc.logger().info("promote: {}", outcome.summary());
        Map<String, Object> recorded = new LinkedHashMap<>(outcome.decision().toMap());
        recorded.put("promoted", outcome.promoted());
        recorded.put("summary", outcome.summary());
        lineage.succeeded(Map.of(), recorded, null);
        boolean production = outcome.promoted() || outcome.comparedWith() != null
                && outcome.comparedWith().sha256().equals(ref.sha256());
        return Output.builder().promoted(outcome.promoted()).alias(production ? ModelRegistry.PRODUCTION
                : ModelRegistry.CANDIDATE).sha256(ref.sha256()).modelId(outcome.candidate().modelId())
                .failedGates(outcome.decision().failed()).summary(outcome.summary())
                .gates(outcome.decision().results().stream().map(Object::toString).toList()).build();
    }

    private javax.sql.DataSource dataSource(RunContext rc) throws Exception {
        org.postgresql.ds.PGSimpleDataSource ds = new org.postgresql.ds.PGSimpleDataSource();
        ds.setURL(required(rc, jdbcUrl, "jdbcUrl"));
        String user = optional(rc, jdbcUser, String.class, null);
        String password = optional(rc, jdbcPassword, String.class, null);
        if (user != null && !user.isBlank()) {
            ds.setUser(user);
        }
        if (password != null && !password.isBlank()) {
            ds.setPassword(password);
        }
        return ds;
    }

    /** A metric input: a number, or empty / "null" for not measured; anything else is refused, naming the input. */
    static Double number(RunContext rc, Property<String> property, String name) throws Exception {
        String text = property == null ? null : rc.render(property).as(String.class).orElse(null);
        if (text == null || text.isBlank() || text.strip().equals("null")) {
            return null;
        }
        try {
            return Double.parseDouble(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("input '" + name + "' must be a number or empty, got '" + text + "'");
        }
    }

    private Map<String, Double> checkMap(RunContext rc) throws Exception {
        String text = checkRates == null ? null : rc.render(checkRates).as(String.class).orElse(null);
        if (text == null || text.isBlank() || text.strip().equals("null")) {
            return Map.of();
        }
        Map<String, Object> raw;
        try {
            raw = JSON.readValue(text, new TypeReference<Map<String, Object>>() { });
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("input 'checkRates' must be a JSON object of check name -> rate, got '"
                    + text + "'");
        }
        Map<String, Double> out = new TreeMap<>();
        raw.forEach((k, v) -> {
            if (v instanceof Number n) {
                out.put(k, n.doubleValue());
            } else if (v != null) {
                throw new IllegalArgumentException("input 'checkRates': the rate of check '" + k + "' is not a number: "
                        + v);
            }
        });
        return out;
    }

    /** Whether the policy was promoted, where it stands, and which gates failed. */
    @Builder
    @Getter
    public static class Output implements io.kestra.core.models.tasks.Output {
        @Schema(title = "Whether this run made the policy production")
        private final Boolean promoted;
        @Schema(title = "The alias the policy holds now: production or candidate")
        private final String alias;
        @Schema(title = "The policy's SHA-256")
        private final String sha256;
        @Schema(title = "The id seed serve shows for it")
        private final String modelId;
        @Schema(title = "The gates that failed (empty when promoted)")
        private final List<String> failedGates;
        @Schema(title = "Every gate's verdict")
        private final List<String> gates;
        @Schema(title = "One line: promoted, or kept as candidate and why")
        private final String summary;
    }
}
