package seed.stages.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Writes and checks HuggingFace {@code tokenizer.json} files for Seed's byte-level BPE: the writer produces the
 * same layout the HuggingFace library itself saves for a GPT-2 style tokenizer (BPE model with vocab and merges,
 * ByteLevel pre-tokenizer with GPT-2's regex, ByteLevel decoder, the three special tokens as added tokens), byte for
 * byte deterministic; the reader rejects files Seed cannot use with a message naming the field.
 */
public final class TokenizerJson {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SPECIALS = List.of(Tokenizer.END_OF_TEXT, Tokenizer.PROMPT, Tokenizer.RESPONSE);

    /** What Seed needs to know about a checked tokenizer.json besides what HuggingFace loads itself. */
    public record Info(int vocabSize, int endOfTextId, int promptId, int responseId, int merges) {
    }

    private TokenizerJson() {
    }

    /** Renders a trained model as tokenizer.json bytes (UTF-8, two-space indent, '\n' line ends). */
    public static byte[] write(BpeModel model) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String special : SPECIALS) {
            int id = model.vocab().indexOf(special);
            if (id < 0) {
                throw new IllegalArgumentException("model vocabulary lacks special token " + special);
            }
            ObjectNode t = added.addObject();
            t.put("id", id);
            t.put("content", special);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", true);
        pre.put("use_regex", true);
        root.putNull("post_processor");
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "ByteLevel");
        dec.put("add_prefix_space", true);
        dec.put("trim_offsets", true);
        dec.put("use_regex", true);
        ObjectNode m = root.putObject("model");
        m.put("type", "BPE");
        m.putNull("dropout");
        m.putNull("unk_token");
        m.putNull("continuing_subword_prefix");
        m.putNull("end_of_word_suffix");
        m.put("fuse_unk", false);
        m.put("byte_fallback", false);
        m.put("ignore_merges", false);
        ObjectNode vocab = m.putObject("vocab");
        for (int id = 0; id < model.vocab().size(); id++) {
            vocab.put(model.vocab().get(id), id);
        }
        ArrayNode merges = m.putArray("merges");
        for (BpeModel.Merge merge : model.merges()) {
            merges.add(merge.left() + " " + merge.right());
        }
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter()
                .withObjectIndenter(new DefaultIndenter("  ", "\n"))
                .withArrayIndenter(new DefaultIndenter("  ", "\n"));
        try {
            byte[] body = JSON.writer(printer).writeValueAsBytes(root);
            byte[] out = new byte[body.length + 1];
            System.arraycopy(body, 0, out, 0, body.length);
            out[body.length] = '\n';
            return out;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render tokenizer.json", e);
        }
    }

    /**
     * Whether a tokenizer.json is meant as Seed's own: its added tokens hold Seed's three special tokens (or it does
     * not parse, so that {@link #check} reports why). A Hugging Face folder's tokenizer has other special tokens.
     */
    public static boolean hasSeedSpecials(byte[] json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            return true;
        }
        if (root == null || !root.isObject()) {
            return true;
        }
        java.util.Set<String> contents = new java.util.HashSet<>();
        root.path("added_tokens").forEach(t -> contents.add(t.path("content").asText("")));
        return contents.containsAll(SPECIALS);
    }

    /**
     * Checks that {@code json} is a byte-level BPE tokenizer.json with Seed's three special tokens and dense ids,
     * naming the offending field otherwise. {@code origin} (a path) goes into every message.
     */
    public static Info check(byte[] json, String origin) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IOException(origin + " is not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr() + ")"), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(origin + " is not a tokenizer.json: the top level must be a JSON object");
        }
        JsonNode model = root.path("model");
        if (!model.isObject()) {
            throw new IOException(origin + ": field 'model' is missing or not an object");
        }
        String type = model.path("type").asText("");
        if (!"BPE".equals(type)) {
            throw new IOException(origin + ": model.type is '" + type + "', Seed needs a 'BPE' model");
        }
        for (String field : List.of("pre_tokenizer", "decoder")) {
            String t = root.path(field).path("type").asText("");
            if (!"ByteLevel".equals(t)) {
                throw new IOException(origin + ": " + field + ".type is '" + t + "', Seed needs a byte-level BPE ('ByteLevel')");
            }
        }
        JsonNode vocab = model.path("vocab");
        if (!vocab.isObject() || vocab.isEmpty()) {
            throw new IOException(origin + ": model.vocab is missing or empty");
        }
        JsonNode merges = model.path("merges");
        if (!merges.isArray()) {
            throw new IOException(origin + ": model.merges is missing or not an array");
        }
        Map<Integer, String> byId = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                throw new IOException(origin + ": model.vocab entry '" + e.getKey() + "' has id " + e.getValue() + ", not a non-negative integer");
            }
            String before = byId.put(e.getValue().asInt(), e.getKey());
            if (before != null) {
                throw new IOException(origin + ": model.vocab gives id " + e.getValue() + " to both '" + before + "' and '" + e.getKey() + "'");
            }
        }
        int[] specialIds = new int[SPECIALS.size()];
        JsonNode added = root.path("added_tokens");
        for (int s = 0; s < SPECIALS.size(); s++) {
            specialIds[s] = -1;
            for (JsonNode t : added) {
                if (SPECIALS.get(s).equals(t.path("content").asText(null))) {
                    if (!t.path("special").asBoolean(false) || !t.path("id").canConvertToInt()) {
                        throw new IOException(origin + ": added token " + SPECIALS.get(s) + " must have an integer id and special=true");
                    }
                    specialIds[s] = t.path("id").asInt();
                }
            }
            if (specialIds[s] < 0) {
                throw new IOException(origin + ": added_tokens lacks the special token " + SPECIALS.get(s));
            }
            String other = byId.putIfAbsent(specialIds[s], SPECIALS.get(s));
            if (other != null && !other.equals(SPECIALS.get(s))) {
                throw new IOException(origin + ": special token " + SPECIALS.get(s) + " has id " + specialIds[s]
                        + ", which model.vocab gives to '" + other + "'");
            }
        }
        int size = byId.size();
        for (int id = 0; id < size; id++) {
            if (!byId.containsKey(id)) {
                throw new IOException(origin + ": token ids are not dense: " + size + " tokens but id " + id
                        + " is unused (a model's embedding table needs ids 0.." + (size - 1) + ")");
            }
        }
        return new Info(size, specialIds[0], specialIds[1], specialIds[2], merges.size());
    }
}
