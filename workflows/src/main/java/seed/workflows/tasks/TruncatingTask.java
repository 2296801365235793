package seed.workflows.tasks;

import io.kestra.core.models.property.Property;
import io.kestra.core.models.tasks.Output;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import java.util.Map;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.stages.data.Truncation;

/**
 * A Seed task that reads prompts through the stages' truncation rule ({@link Truncation}, TRL's meanings): the
 * inputs the command line's {@code --max-length}, {@code --max-prompt-length} and {@code --truncate-prompt} flags
 * are, shared by SFT, reward training, candidates and RL so that one flow passes one policy to all of them. Tasks
 * that train on given responses (SFT, reward model) add {@code truncateResponse}; for the generating tasks the
 * response is generated, so only the prompt's budget applies.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
public abstract class TruncatingTask<O extends Output> extends SeedTask<O> {

    @Schema(title = "Prompt + response + end token at most this many tokens (0 = the model's context)")
    @Builder.Default
    protected Property<Integer> maxLength = Property.ofValue(0);

    @Schema(title = "Hard cap on the prompt's tokens, framing included (0 = none: the prompt gives way first, down to "
            + "half of maxLength)")
    @Builder.Default
    protected Property<Integer> maxPromptLength = Property.ofValue(0);

    @Schema(title = "A prompt that does not fit: 'left' cuts its beginning, 'error' stops the stage naming the line",
            description = "Default: 'left' for Sft (its behaviour before these inputs existed), 'error' for the others.")
    protected Property<Choices.PromptTruncation> truncatePrompt;

    /** The prompt mode when {@code truncatePrompt} is not given. */
    protected String defaultTruncatePrompt() {
        return "error";
    }

    /** The rule for stages whose responses are generated (candidates, RL): responses are never cut. */
    protected Truncation truncation(RunContext rc) throws Exception {
        return truncation(rc, "error");
    }

    /** The rendered rule with {@code responseMode} (right|drop|error); bad values fail with the accepted ones. */
    protected Truncation truncation(RunContext rc, String responseMode) throws Exception {
        return Truncation.parse(required(rc, maxLength, "maxLength", Integer.class),
                required(rc, maxPromptLength, "maxPromptLength", Integer.class),
                truncatePrompt == null ? defaultTruncatePrompt() : Choices.spelling(required(rc, truncatePrompt,
                        "truncatePrompt", Choices.PromptTruncation.class)), responseMode);
    }

    /**
     * The rule as the store's address and the lineage record it (every field, by name): the same form as inside
     * {@code RewardSettings}, where the reward task's truncation is hashed as part of the record.
     */
    static Map<String, Object> describe(Truncation t) {
        return Settings.of(t);
    }
}
