package seed.stages.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * An independent, deliberately naive reading of a tokenizer.json: split with GPT-2's regex, map bytes to GPT-2's
 * printable characters, then repeatedly merge the lowest-rank adjacent pair. Tests compare it with HuggingFace's
 * ids to show the file means what the trainer meant. Knows nothing of HuggingFace and ignores added tokens
 * (Seed's contract: special strings in text are plain text).
 */
final class ReferenceBpe {

    private final Map<String, Integer> vocab = new HashMap<>();
    private final Map<String, Integer> rank = new HashMap<>();
    private final char[] byteChar = new char[256];

    ReferenceBpe(byte[] tokenizerJson) throws IOException {
        JsonNode model = new ObjectMapper().readTree(tokenizerJson).get("model");
        for (Iterator<Map.Entry<String, JsonNode>> it = model.get("vocab").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        int r = 0;
        for (JsonNode m : model.get("merges")) {
            rank.putIfAbsent(m.asText(), r++);
        }
        // bytes_to_unicode() written out from GPT-2's encoder.py, independently of ByteLevel.
        List<Integer> printable = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) printable.add(b);
        for (int b = 0xA1; b <= 0xAC; b++) printable.add(b);
        for (int b = 0xAE; b <= 0xFF; b++) printable.add(b);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            byteChar[b] = printable.contains(b) ? (char) b : (char) (256 + n++);
        }
    }

    int[] encode(String text) {
        List<Integer> ids = new ArrayList<>();
        for (String piece : ByteLevel.split(text)) {
            List<String> symbols = new ArrayList<>();
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                symbols.add(String.valueOf(byteChar[b & 0xff]));
            }
            while (symbols.size() > 1) {
                int best = Integer.MAX_VALUE;
                String bestKey = null;
                for (int i = 0; i + 1 < symbols.size(); i++) {
                    Integer rk = rank.get(symbols.get(i) + " " + symbols.get(i + 1));
                    if (rk != null && rk < best) {
                        best = rk;
                        bestKey = symbols.get(i) + " " + symbols.get(i + 1);
                    }
                }
                if (bestKey == null) {
                    break;
                }
                List<String> next = new ArrayList<>();
                for (int i = 0; i < symbols.size(); i++) {
                    if (i + 1 < symbols.size() && (symbols.get(i) + " " + symbols.get(i + 1)).equals(bestKey)) {
                        next.add(symbols.get(i) + symbols.get(i + 1));
                        i++;
                    } else {
                        next.add(symbols.get(i));
                    }
                }
                symbols = next;
            }
            for (String s : symbols) {
                ids.add(vocab.get(s));
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }
}
