package seed.workflows.tasks;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.Arrays;
import java.util.Locale;

/**
 * The choice inputs of Seed's tasks as enums, so Kestra's task schema lists their values. Flows write them as the
 * command line does ({@code left}, {@code end-logprob}); each enum reads that spelling as well as its constant's name,
 * and {@link #spelling} gives the stage libraries the spelling they parse.
 */
public final class Choices {

    private Choices() {
    }

    /** What to do with a prompt that leaves no room for the response. */
    public enum PromptTruncation {
        /** cut the prompt's beginning */
        LEFT,
        /** stop the stage naming the line */
        ERROR;

        @JsonCreator
        public static PromptTruncation of(String value) {
            return Choices.of(PromptTruncation.class, value);
        }
    }

    /** What to do with a training response that does not fit. */
    public enum ResponseTruncation {
        /** cut the response's end */
        RIGHT,
        /** leave the example out */
        DROP,
        /** stop the stage naming the line */
        ERROR;

        @JsonCreator
        public static ResponseTruncation of(String value) {
            return Choices.of(ResponseTruncation.class, value);
        }
    }

    /** Where the reward model reads its score. */
    public enum Readout {
        /** the scalar head at the last token */
        END,
        /** the last token's head plus the policy's log-probability */
        END_LOGPROB;

        @JsonCreator
        public static Readout of(String value) {
            return Choices.of(Readout.class, value);
        }
    }

    /** The architecture family of a model trained from scratch. */
    public enum Arch {
        GPT2,
        LLAMA;

        @JsonCreator
        public static Arch of(String value) {
            return Choices.of(Arch.class, value);
        }
    }

    /** The command line's spelling of a choice: lower case, '-' between words ("end-logprob"). */
    public static String spelling(Enum<?> choice) {
        return choice.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** A choice from its constant name or its command-line spelling; an error lists the accepted values. */
    static <E extends Enum<E>> E of(Class<E> type, String value) {
        String v = value == null ? "" : value.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(v)) {
                return e;
            }
        }
        throw new IllegalArgumentException("'" + value + "' is not one of " + Arrays.stream(type.getEnumConstants())
                .map(Choices::spelling).toList());
    }
}
