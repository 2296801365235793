package seed.stages.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders a family's TorchScript program (a resource file beside this class, followed by the shared
 * {@value #SHARED}) for one model: the one place where program text is templated. Two rules, both by whole words:
 * <ul>
 *   <li>Capitalised constants ({@code LAYERS}, {@code DMODEL}, {@code HEAD}, ...) become this model's numbers. The
 *       weight list's layout is generated from the parameter names: every global parameter is a constant named
 *       after it ({@code model.norm.weight} -> {@code MODEL_NORM_WEIGHT}), {@code HEAD} is the head's index, and
 *       layer {@code i}'s parameters are {@code p[LAYER_START + PER_LAYER * i : LAYER_START + PER_LAYER * (i + 1)]}.
 *   <li>A line {@code BLOCK_WEIGHTS(w)} becomes one assignment per per-layer variable of the family
 *       ({@link FamilySpec#blockVariablesWithAdapters()}): {@code q_weight = w[1]} when the model has that
 *       parameter, {@code q_bias : Optional[Tensor] = None} when it does not (no biases, no adapters).
 * </ul>
 * A capitalised word left in code after rendering is an error, so a misspelt constant fails here, not in libtorch.
 */
public final class ProgramSource {

    private static final Pattern WORD = Pattern.compile("\\b[A-Z][A-Z0-9_]*\\b");
    private static final Pattern BLOCK = Pattern.compile("^(\\s*)BLOCK_WEIGHTS\\((\\w+)\\)\\s*$");
    /**
     * The functions every family's program calls ({@code full_context}, {@code cached}, {@code attend}): the
     * key/value cache and attention are the same logic in each family, written once and appended to each program.
     */
    static final String SHARED = "kv_attention.torchscript";

    private ProgramSource() {
    }

    /**
     * The program of {@code config}'s family for a model whose parameters are {@code names} (in the order the
     * program receives them), computing in {@code precision}, with {@code lora}'s scale and dropout (null = none).
     */
    public static String render(GptConfig config, Precision precision, List<String> names, LoraSettings lora) {
        FamilySpec family = config.family().spec();
        Map<String, String> constants = new HashMap<>(family.constants(config, precision));
        boolean bf16 = precision == Precision.BF16;
        constants.put("LAYERS", String.valueOf(config.layers()));
        constants.put("DMODEL", String.valueOf(config.dModel()));
        constants.put("HEADS", String.valueOf(config.heads()));
        constants.put("CONTEXT", String.valueOf(config.context()));
        constants.put("SCALE", String.valueOf(1.0 / Math.sqrt(config.headSize())));
        constants.put("EPS", String.valueOf(config.normEps()));
        constants.put("BF16", Gpt2Family.python(bf16));
        constants.put("EXPLICIT", Gpt2Family.python(bf16));
        constants.put("LORA_SCALE", String.valueOf(lora == null ? 0.0 : lora.scale()));
        constants.put("LORA_DROPOUT", String.valueOf(lora == null ? 0.0 : lora.dropout()));

        String first = family.layerPrefix(0);
        int layerStart = -1;
        List<String> layerZero = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (name.startsWith(first)) {
                layerStart = layerStart < 0 ? i : layerStart;
                layerZero.add(name.substring(first.length()));
            } else if (!isLayerParameter(family, config, name)) {
                constants.put(constantName(name), String.valueOf(i));
            }
        }
        for (int layer = 0; layer < config.layers(); layer++) {
            for (int k = 0; k < layerZero.size(); k++) {
                String expected = family.layerPrefix(layer) + layerZero.get(k);
                int at = layerStart + layerZero.size() * layer + k;
                if (at >= names.size() || !names.get(at).equals(expected)) {
                    throw new IllegalStateException("parameters are not in layer order: expected " + expected
                            + " at " + at);
                }
            }
        }
        constants.put("LAYER_START", String.valueOf(layerStart));
        constants.put("PER_LAYER", String.valueOf(layerZero.size()));
        constants.put("HEAD", String.valueOf(names.indexOf(family.headParameter(config))));

        StringBuilder out = new StringBuilder();
        // the family's program, then the functions every family's program shares (the key/value cache, attention)
        String source = read(family.program()).stripTrailing() + "\n" + read(SHARED);
        for (String line : source.split("\n", -1)) {
            Matcher block = BLOCK.matcher(line);
            if (block.matches()) {
                for (Map.Entry<String, String> v : family.blockVariablesWithAdapters().entrySet()) {
                    int at = layerZero.indexOf(v.getKey());
                    out.append(block.group(1)).append(v.getValue())
                            .append(at >= 0 ? " = " + block.group(2) + "[" + at + "]" : " : Optional[Tensor] = None")
                            .append('\n');
                }
                continue;
            }
            out.append(substitute(line, constants, family.program())).append('\n');
        }
        return out.toString();
    }

    /** {@code line} with its constants replaced; fails on a capitalised word in code that is not a constant. */
    private static String substitute(String line, Map<String, String> constants, String program) {
        int comment = line.indexOf('#');
        String code = comment < 0 ? line : line.substring(0, comment);
        Matcher m = WORD.matcher(code);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String value = constants.get(m.group());
            if (value == null) {
                throw new IllegalStateException(program + ": unknown constant " + m.group() + " in: " + line.strip());
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(value));
        }
        m.appendTail(sb);
        return comment < 0 ? sb.toString() : sb + line.substring(comment);
    }

    private static boolean isLayerParameter(FamilySpec family, GptConfig config, String name) {
        return Gpt.layerOf(family, name) >= 0;
    }

    /** {@code model.embed_tokens.weight} -> {@code MODEL_EMBED_TOKENS_WEIGHT}. */
    static String constantName(String parameter) {
        return parameter.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }

    private static String read(String resource) {
        try (InputStream in = ProgramSource.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("program resource " + resource + " is missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
