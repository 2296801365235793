package seed.annotation.core;

import java.util.List;

/**
 * An annotation item as shown to annotators: the prompt and its K responses. {@code goldOrder} is the known best-first
 * order of a gold item, or null; it is never sent to annotators.
 */
public record Item(long id, String prompt, List<String> responses, String checkpoint, List<Integer> goldOrder) {

    public int k() {
        return responses.size();
    }
}
