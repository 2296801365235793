package seed.stages.tokenizer;

import java.util.List;

/**
 * What a BPE training produces: the vocabulary in id order (byte-level strings as HuggingFace stores them; ids
 * 0..255 are the single bytes, 256..258 the special tokens, the rest merged tokens) and the merges in rank order.
 * Kept separate from the JSON so the trainer, the writer and tests can each reason about plain data.
 */
public record BpeModel(List<String> vocab, List<Merge> merges) {

    /** One learned merge: the two byte-level token strings whose concatenation is a vocabulary entry. */
    public record Merge(String left, String right) {
    }

    public BpeModel {
        vocab = List.copyOf(vocab);
        merges = List.copyOf(merges);
    }
}
