package seed.stages.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;

/**
 * The tokenizer of a Hugging Face model folder, whatever its kind (byte-level BPE as GPT-2, Llama 3, Qwen and SmolLM
 * use; SentencePiece-style BPE with byte fallback as Llama 2 and Mistral use; anything else the tokenizers library
 * loads), run by Hugging Face's own tokenizers library through DJL, so Seed never re-implements a tokenizer and the
 * ids are exactly those {@code transformers} produces. Special tokens (bos, eos, pad) and the chat template come from
 * {@code tokenizer_config.json} (and {@code special_tokens_map.json}, {@code chat_template.jinja}).
 *
 * <p>Unlike Seed's own tokenizers this one has no {@code <|prompt|>}/{@code <|response|>} markers: conversations are
 * framed by its chat template ({@code seed.stages.data.ChatFormat#of}). And as in {@code transformers}, an added
 * token's string inside the text (e.g. {@code <|im_end|>}) is encoded as that token: the library offers no switch.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {

    /** The folder files this tokenizer is made of; {@link #save} writes them all back. */
    public static final String TOKENIZER_JSON = "tokenizer.json";
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    public static final String SPECIAL_TOKENS_MAP = "special_tokens_map.json";
    public static final String CHAT_TEMPLATE_FILE = "chat_template.jinja";

    /** No truncation at 512, no padding, no post-processor (BOS) on encode: the ids are the text's and nothing else. */
    private static final Map<String, String> HF_OPTIONS = Map.of(
            "addSpecialTokens", "false", "truncation", "false", "padding", "false");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The special tokens Seed reads from the configuration: strings, or null when the folder names none. */
    public record SpecialTokens(String bos, String eos, String pad, String unk) {
    }

    private final HuggingFaceTokenizer hf;
    private final Map<String, byte[]> files;
    private final Map<String, Integer> ids;
    private final Set<Integer> specialIds;
    private final int vocabSize;
    private final SpecialTokens specials;
    private final String chatTemplate;

    private HfTokenizer(HuggingFaceTokenizer hf, Map<String, byte[]> files, Map<String, Integer> ids,
                        Set<Integer> specialIds, int vocabSize, SpecialTokens specials, String chatTemplate) {
        this.hf = hf;
        this.files = files;
        this.ids = ids;
        this.specialIds = specialIds;
        this.vocabSize = vocabSize;
        this.specials = specials;
        this.chatTemplate = chatTemplate;
    }

    /** Loads the tokenizer of a Hugging Face folder (or a Seed checkpoint that carries one). */
    public static HfTokenizer load(Path dir) throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String name : new String[] {TOKENIZER_JSON, TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP, CHAT_TEMPLATE_FILE}) {
            Path f = dir.resolve(name);
            if (Files.isRegularFile(f)) {
                files.put(name, Files.readAllBytes(f));
            }
        }
        if (!files.containsKey(TOKENIZER_JSON)) {
            throw new NoSuchFileException(dir.resolve(TOKENIZER_JSON).toString(), null,
                    "a Hugging Face folder needs its tokenizer.json (the fast tokenizer; a SentencePiece tokenizer.model "
                            + "alone is not read)");
        }
        return of(files, dir.toString());
    }

    /**
     * Builds a tokenizer from the folder's files by name ({@link #TOKENIZER_JSON} required, the others optional);
     * {@code origin} names the source in errors.
     */
    public static HfTokenizer of(Map<String, byte[]> files, String origin) throws IOException {
        byte[] json = files.get(TOKENIZER_JSON);
        if (json == null) {
            throw new IOException(origin + ": no tokenizer.json");
        }
        JsonNode root = parse(json, origin + "/" + TOKENIZER_JSON);
        JsonNode config = files.containsKey(TOKENIZER_CONFIG)
                ? parse(files.get(TOKENIZER_CONFIG), origin + "/" + TOKENIZER_CONFIG) : JSON.createObjectNode();
        JsonNode map = files.containsKey(SPECIAL_TOKENS_MAP)
                ? parse(files.get(SPECIAL_TOKENS_MAP), origin + "/" + SPECIAL_TOKENS_MAP) : JSON.createObjectNode();

        Map<String, Integer> ids = new HashMap<>();
        Set<Integer> specialIds = new TreeSet<>();
        int maxId = vocabularyIds(root, ids, origin);
        for (JsonNode t : root.path("added_tokens")) {
            int id = t.path("id").asInt(-1);
            String content = t.path("content").asText(null);
            if (id < 0 || content == null) {
                throw new IOException(origin + "/tokenizer.json: an added token needs an integer id and a content: " + t);
            }
            ids.put(content, id);
            if (t.path("special").asBoolean(false)) {
                specialIds.add(id);
            }
            maxId = Math.max(maxId, id);
        }
        if (maxId < 0) {
            throw new IOException(origin + "/tokenizer.json: the vocabulary is empty");
        }

        String eos = token(config, map, "eos_token");
        if (eos == null && specialIds.size() == 1) {
            // an unmodified GPT-2 folder may carry tokenizer.json alone: its one special token (<|endoftext|>) ends text
            int only = specialIds.iterator().next();
            eos = ids.entrySet().stream().filter(e -> e.getValue() == only).map(Map.Entry::getKey).findFirst().orElse(null);
        }
        if (eos == null) {
            throw new IOException(origin + ": no end-of-text token: tokenizer_config.json (or special_tokens_map.json) "
                    + "must name an eos_token");
        }
        SpecialTokens specials = new SpecialTokens(token(config, map, "bos_token"), eos, token(config, map, "pad_token"),
                token(config, map, "unk_token"));
        for (String s : new String[] {specials.bos(), specials.eos(), specials.pad()}) {
            if (s != null && !ids.containsKey(s)) {
                throw new IOException(origin + ": special token '" + s + "' named in the configuration is not in tokenizer.json");
            }
        }

        String template = files.containsKey(CHAT_TEMPLATE_FILE)
                ? new String(files.get(CHAT_TEMPLATE_FILE), StandardCharsets.UTF_8) : chatTemplate(config, origin);

        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), HF_OPTIONS);
        } catch (RuntimeException e) {
            throw new IOException(origin + "/tokenizer.json is not a tokenizer Hugging Face's library can load: "
                    + e.getMessage(), e);
        }
        Map<String, byte[]> copy = new LinkedHashMap<>();
        files.forEach((k, v) -> copy.put(k, v.clone()));
        return new HfTokenizer(hf, Collections.unmodifiableMap(copy), Map.copyOf(ids),
                Collections.unmodifiableSet(specialIds), maxId + 1, specials, template);
    }

    /** Fills token -> id from the model's vocabulary (BPE/WordPiece: an object; Unigram: a list) and returns the top id. */
    private static int vocabularyIds(JsonNode root, Map<String, Integer> ids, String origin) throws IOException {
        JsonNode vocab = root.path("model").path("vocab");
        int max = -1;
        if (vocab.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().canConvertToInt()) {
                    throw new IOException(origin + "/tokenizer.json: model.vocab entry '" + e.getKey() + "' has no integer id");
                }
                ids.put(e.getKey(), e.getValue().asInt());
                max = Math.max(max, e.getValue().asInt());
            }
        } else if (vocab.isArray()) {
            for (int i = 0; i < vocab.size(); i++) {
                ids.put(vocab.get(i).path(0).asText(), i);
            }
            max = vocab.size() - 1;
        } else {
            throw new IOException(origin + "/tokenizer.json: model.vocab is missing");
        }
        return max;
    }

    /** A special token as tokenizer_config.json writes it: a string, or an AddedToken object {"content": ...}. */
    private static String token(JsonNode config, JsonNode map, String key) {
        for (JsonNode source : new JsonNode[] {config, map}) {
            JsonNode v = source.get(key);
            if (v == null || v.isNull()) {
                continue;
            }
            if (v.isTextual()) {
                return v.asText();
            }
            if (v.isObject() && v.path("content").isTextual()) {
                return v.path("content").asText();
            }
        }
        return null;
    }

    /** tokenizer_config.json's chat_template: a string, or a list of {"name", "template"} (the "default" one). */
    private static String chatTemplate(JsonNode config, String origin) throws IOException {
        JsonNode t = config.get("chat_template");
        if (t == null || t.isNull()) {
            return null;
        }
        if (t.isTextual()) {
            return t.asText();
        }
        if (t.isArray()) {
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText())) {
                    return named.path("template").asText();
                }
            }
        }
        throw new IOException(origin + "/tokenizer_config.json: chat_template is neither a string nor a list with a "
                + "template named \"default\"");
    }

    private static JsonNode parse(byte[] bytes, String origin) throws IOException {
        try {
            JsonNode n = JSON.readTree(bytes);
            if (n == null || !n.isObject()) {
                throw new IOException(origin + ": the top level must be a JSON object");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new IOException(origin + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** Encodes text as {@code transformers} does with {@code add_special_tokens=False}: added tokens are matched. */
    @Override
    public int[] encode(String text) {
        long encoding = TokenizersLibrary.LIB.encode(hf.getHandle(), BpeTokenizer.withoutLoneSurrogates(text), false);
        try {
            long[] l = TokenizersLibrary.LIB.getTokenIds(encoding);
            int[] out = new int[l.length];
            for (int i = 0; i < l.length; i++) {
                out[i] = (int) l[i];
            }
            return out;
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    /** Decodes every id, special ones included as their strings. */
    @Override
    public String decode(int[] ids) {
        return hf.decode(checked(ids), false);
    }

    /** Decodes leaving special tokens out ({@code skip_special_tokens=True}): what a generated answer shows. */
    public String decodeSkippingSpecial(int[] ids) {
        return hf.decode(checked(ids), true);
    }

    private long[] checked(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new IllegalArgumentException("token id " + ids[i] + " is outside the vocabulary (" + vocabSize + ")");
            }
            l[i] = ids[i];
        }
        return l;
    }

    @Override public int vocabSize() { return vocabSize; }
    @Override public String kind() { return "hf"; }

    /** The eos token's id: where text (and, without a chat template, a response) ends. */
    @Override
    public int endOfTextId() {
        return ids.get(specials.eos());
    }

    /** Seed's prompt marker does not exist here: conversations go through the chat template. */
    @Override
    public int promptId() {
        throw new UnsupportedOperationException("a Hugging Face tokenizer has no <|prompt|> token: frame conversations "
                + "with its chat format (ChatFormat.of)");
    }

    /** Seed's response marker does not exist here: conversations go through the chat template. */
    @Override
    public int responseId() {
        throw new UnsupportedOperationException("a Hugging Face tokenizer has no <|response|> token: frame conversations "
                + "with its chat format (ChatFormat.of)");
    }

    /** bos, eos, pad and unk as the configuration names them. */
    public SpecialTokens specialTokens() {
        return specials;
    }

    /** The bos token's id, if the folder names one. */
    public OptionalInt bosId() {
        return specials.bos() == null ? OptionalInt.empty() : OptionalInt.of(ids.get(specials.bos()));
    }

    /** The padding id: pad_token's, else eos's (what trainers pad with; padded positions are masked anyway). */
    public int padId() {
        return specials.pad() != null ? ids.get(specials.pad()) : endOfTextId();
    }

    /** The id of a token string (vocabulary or added token), if there is one. */
    public OptionalInt idOf(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** Whether {@code id} is an added token marked special (such ids end turns, frame templates, never show). */
    public boolean isSpecial(int id) {
        return specialIds.contains(id);
    }

    /** The Jinja chat template of the folder, if it has one. */
    public Optional<String> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    /** The exact tokenizer.json bytes this tokenizer was built from. */
    public byte[] json() {
        return files.get(TOKENIZER_JSON).clone();
    }

    /**
     * Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json (and chat_template.jinja if the folder
     * had one) into {@code dir}, each atomically. Files the folder had are written as they were; a missing
     * configuration is written with the special tokens Seed resolved, so a checkpoint carries them.
     */
    @Override
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, byte[]> out = new LinkedHashMap<>(files);
        if (!out.containsKey(TOKENIZER_CONFIG)) {
            ObjectNode c = specialsObject();
            c.put("tokenizer_class", "PreTrainedTokenizerFast");
            c.put("clean_up_tokenization_spaces", false);
            if (chatTemplate != null) {
                c.put("chat_template", chatTemplate);
            }
            out.put(TOKENIZER_CONFIG, pretty(c));
        }
        if (!out.containsKey(SPECIAL_TOKENS_MAP)) {
            out.put(SPECIAL_TOKENS_MAP, pretty(specialsObject()));
        }
        for (Map.Entry<String, byte[]> f : out.entrySet()) {
            writeAtomically(dir, f.getKey(), f.getValue());
        }
    }

    private ObjectNode specialsObject() {
        ObjectNode c = JSON.createObjectNode();
        if (specials.bos() != null) {
            c.put("bos_token", specials.bos());
        }
        c.put("eos_token", specials.eos());
        if (specials.pad() != null) {
            c.put("pad_token", specials.pad());
        }
        if (specials.unk() != null) {
            c.put("unk_token", specials.unk());
        }
        return c;
    }

    private static byte[] pretty(ObjectNode node) throws IOException {
        return (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** Writes {@code dir/name} atomically: a temp file in the same folder, then a rename (readers never see half). */
    static void writeAtomically(Path dir, String name, byte[] bytes) throws IOException {
        Path target = dir.resolve(name);
        Path tmp = Files.createTempFile(dir, "." + name + ".", ".tmp");
        try {
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Frees the native tokenizer. */
    @Override
    public void close() {
        hf.close();
    }
}
