package seed.reward;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.reward.data.PreferenceData;
import seed.reward.data.Ranking;
import seed.reward.data.RankingsFile;
import seed.stages.data.ChatFormat;
import seed.stages.data.ChatTemplate;
import seed.stages.data.ExampleEncoder;
import seed.stages.data.Truncation;
import seed.stages.model.Gpt;
import seed.stages.model.GptConfig;
import seed.stages.tokenizer.BpeTrainer;
import seed.stages.tokenizer.ByteTokenizer;
import seed.stages.tokenizer.HfTokenizer;
import seed.stages.tokenizer.Tokenizer;
import seed.stages.tokenizer.TokenizerJson;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reward model frames through the tokenizer's chat format: Seed's tokenizers give today's sequences; a Hugging
 * Face tokenizer with a ChatML template gives the template's sequences (the same as SFT's), conversations in a
 * rankings file reach the template as messages, and the log-probability read-out finds where the response starts.
 */
class ChatFormatRewardTest {

    static final String CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
            + "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\n' }}{% endif %}";

    @TempDir
    Path tmp;

    @Test
    void seedTokenizerSequencesAreTodays() {
        try (Gpt backbone = Gpt.initialize(new GptConfig(259, 32, 1, 16, 2), 1)) {
            RewardModel model = RewardModel.withFreshHead(backbone, new ByteTokenizer());
            assertArrayEquals(new int[] {257, 'H', 'i', 258, 'Y', 'o', 256}, model.encode("Hi", "Yo"));
            model.close();
        }
    }

    @Test
    void chatTemplateFramesRewardSequencesAsSft() throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(chatMlFolder(tmp.resolve("tok")))) {
            ChatFormat format = ChatFormat.of(tok);
            Path rankings = Files.writeString(tmp.resolve("r.jsonl"), new ObjectMapper().writeValueAsString(Map.of(
                    "prompt", List.of(Map.of("role", "system", "content", "Be brief."),
                            Map.of("role", "user", "content", "What is 3 plus 4?")),
                    "responses", List.of("7.", "Eight, I think."), "ranking", List.of(0, 1))) + "\n");
            List<Ranking> read = RankingsFile.read(rankings);
            List<ChatTemplate.Message> conversation = read.get(0).conversation();
            assertEquals(2, conversation.size());
            try (Gpt backbone = Gpt.initialize(new GptConfig(tok.vocabSize(), 128, 1, 16, 2), 1)) {
                RewardModel model = RewardModel.withFreshHead(backbone, tok, RewardModel.Readout.END_LOGPROB);
                ExampleEncoder encoder = new ExampleEncoder(tok, Truncation.strict(), 128);
                var encoded = RewardModelTrainer.encode(PreferenceData.mergeByPrompt(read), encoder, rankings);
                int[] first = encoded.get(0).sequences().get(0);
                assertArrayEquals(model.encode(conversation, "7."), first);
                assertArrayEquals(encoder.example(conversation, "7.", "x").ids(), first);
                String expected = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 3 plus 4?<|im_end|>\n"
                        + "<|im_start|>assistant\n7.<|im_end|>\n";
                assertEquals(expected, tok.decode(first));
                int promptLength = format.prompt(conversation).length();
                assertEquals(promptLength, format.responseStart(first));
                assertEquals(tok.decode(Arrays.copyOf(first, promptLength)) + "7.<|im_end|>\n", expected);
                float[] scores = model.rawScores(encoded.get(0).sequences());
                assertEquals(2, scores.length);
                assertTrue(Float.isFinite(scores[0]) && Float.isFinite(scores[1]));
                model.close();
            }
        }
    }

    /** A byte-level BPE in Hugging Face's format with ChatML's special tokens and template (Qwen, SmolLM style). */
    static Path chatMlFolder(Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        var trained = BpeTrainer.train(("What is 3 plus 4? Seven. Be brief. system user assistant\n").repeat(40), 290,
                line -> { }).model();
        ObjectNode root = (ObjectNode) json.readTree(TokenizerJson.write(trained));
        ObjectNode vocab = (ObjectNode) root.path("model").path("vocab");
        ArrayNode added = (ArrayNode) root.path("added_tokens");
        List<String> seeds = List.of(Tokenizer.END_OF_TEXT, Tokenizer.PROMPT, Tokenizer.RESPONSE);
        List<String> chatMl = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");
        for (int i = 0; i < 3; i++) {
            int id = vocab.remove(seeds.get(i)).asInt();
            vocab.put(chatMl.get(i), id);
            ((ObjectNode) added.get(i)).put("content", chatMl.get(i));
        }
        Files.createDirectories(dir);
        Files.write(dir.resolve("tokenizer.json"), json.writeValueAsBytes(root));
        Files.write(dir.resolve("tokenizer_config.json"), json.writeValueAsBytes(Map.of(
                "eos_token", "<|im_end|>", "pad_token", "<|endoftext|>", "chat_template", CHATML)));
        return dir;
    }
}
