package seed.stages.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes small Hugging Face tokenizer folders in the library's JSON format for tests: a byte-level BPE (GPT-2, Llama
 * 3, Qwen style, merges learned by Seed's own trainer) and a SentencePiece-style BPE with byte fallback (Llama 2,
 * Mistral style), each with a tokenizer_config.json.
 */
public final class HfFolders {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Qwen2's ChatML template as its tokenizer_config.json holds it (default system prompt when none is given). */
    public static final String CHATML_TEMPLATE = "{% for message in messages %}{% if loop.first and messages[0]['role'] "
            + "!= 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>'"
            + " + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt"
            + " %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    /** Llama 3 Instruct's template (bos first, headers, content trimmed, <|eot_id|> ends every turn). */
    public static final String LLAMA3_TEMPLATE = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim"
            + " + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
            + "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

    /** Llama 2 Chat's template: alternation enforced with raise_exception, the system prompt folded into turn one. */
    public static final String LLAMA2_TEMPLATE = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
            + "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message"
            + " = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 =="
            + " 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\n' + system_message + "
            + "'\n<</SYS>>\n\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if "
            + "message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] "
            + "== 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    private HfFolders() {
    }

    /**
     * A byte-level BPE folder: Seed's trainer learns the merges on {@code corpus}; the three ids Seed would give its own
     * specials become {@code specials} (e.g. {@code <|endoftext|>}, {@code <|im_start|>}, {@code <|im_end|>}; more get new ids at the end); a
     * tokenizer_config.json with {@code config} (bos_token, eos_token, chat_template, ...) unless it is null.
     */
    public static Path byteLevel(Path dir, String corpus, int vocabSize, List<String> specials, Map<String, Object> config)
            throws IOException {
        BpeModel trained = BpeTrainer.train(corpus, vocabSize, line -> { }).model();
        ObjectNode root = (ObjectNode) JSON.readTree(TokenizerJson.write(trained));
        ObjectNode vocab = (ObjectNode) root.path("model").path("vocab");
        List<String> seeds = List.of(Tokenizer.END_OF_TEXT, Tokenizer.PROMPT, Tokenizer.RESPONSE);
        ArrayNode added = root.putArray("added_tokens");
        int next = trained.vocab().size();
        for (int i = 0; i < Math.max(3, specials.size()); i++) {
            int id = i < 3 ? vocab.remove(seeds.get(i)).asInt() : next++;
            if (i < specials.size()) {
                vocab.put(specials.get(i), id);
                added.add(addedToken(id, specials.get(i)));
            } else {
                vocab.put("<|unused" + i + "|>", id); // an ordinary vocabulary entry, not special
            }
        }
        return write(dir, root, config);
    }

    /**
     * A SentencePiece-style BPE with byte fallback as Llama 2 ships it: {@code <unk> <s> </s>}, the 256 byte tokens
     * {@code <0x00>..<0xFF>}, then ▁ and ASCII letters, digits and punctuation and a few merges; normalizer Prepend ▁ +
     * Replace " " -> ▁; decoder Replace ▁ -> " ", ByteFallback, Fuse, Strip one leading space. Anything not in the
     * vocabulary (newlines, accents, CJK) is spelled in bytes.
     */
    public static Path byteFallback(Path dir, Map<String, Object> config) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        added.add(addedToken(0, "<unk>"));
        added.add(addedToken(1, "<s>"));
        added.add(addedToken(2, "</s>"));
        ObjectNode normalizer = root.putObject("normalizer");
        normalizer.put("type", "Sequence");
        ArrayNode ns = normalizer.putArray("normalizers");
        ns.addObject().put("type", "Prepend").put("prepend", "▁");
        ObjectNode replace = ns.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", "▁");
        root.putNull("pre_tokenizer");
        root.putNull("post_processor");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "Sequence");
        ArrayNode ds = decoder.putArray("decoders");
        ObjectNode back = ds.addObject().put("type", "Replace");
        back.putObject("pattern").put("String", "▁");
        back.put("content", " ");
        ds.addObject().put("type", "ByteFallback");
        ds.addObject().put("type", "Fuse");
        ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", "<unk>");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        vocab.put("<unk>", 0);
        vocab.put("<s>", 1);
        vocab.put("</s>", 2);
        for (int b = 0; b < 256; b++) {
            vocab.put(String.format("<0x%02X>", b), 3 + b);
        }
        int id = 259;
        vocab.put("▁", id++);
        for (char c = '!'; c <= '~'; c++) {
            vocab.put(String.valueOf(c), id++);
        }
        ArrayNode merges = model.putArray("merges");
        for (String[] m : new String[][] {{"▁", "t"}, {"h", "e"}, {"▁t", "he"}, {"▁", "a"}, {"i", "s"}, {"▁", "is"}}) {
            merges.add(m[0] + " " + m[1]);
            vocab.put(m[0] + m[1], id++);
        }
        return write(dir, root, config);
    }

    private static ObjectNode addedToken(int id, String content) {
        ObjectNode t = JSON.createObjectNode();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", false);
        t.put("special", true);
        return t;
    }

    private static Path write(Path dir, ObjectNode tokenizer, Map<String, Object> config) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("tokenizer.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(tokenizer));
        if (config != null) {
            Files.write(dir.resolve("tokenizer_config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(config));
        }
        return dir;
    }
}
