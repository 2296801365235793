package seed.stages.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What one architecture family is, in one place: its parameters (names, shapes, order), how they start, the
 * program that computes it (a resource file beside this class, rendered by {@link ProgramSource}) and the names
 * its program gives each per-layer parameter. A new family is one implementation of this and one program file.
 */
public sealed interface FamilySpec permits Gpt2Family, LlamaFamily {

    /** The program's resource file name, e.g. {@code llama.torchscript}. */
    String program();

    /** Every base parameter, in the order the program receives them: globals, then layer by layer, then globals. */
    Map<String, long[]> parameterShapes(GptConfig c);

    /** The name prefix of layer {@code i}'s parameters, e.g. {@code model.layers.3.}. */
    String layerPrefix(int layer);

    /** The parameter the output head multiplies by (the embedding when tied). */
    String headParameter(GptConfig c);

    /**
     * The program's variable name for every per-layer parameter the family can have (name after the layer prefix ->
     * variable), optional ones included: the program names what it reads; absent ones are None there.
     */
    Map<String, String> blockVariables();

    /**
     * The projections adapters may target: module path after the layer prefix (e.g. {@code self_attn.q_proj}) ->
     * the program's short name (the variables {@code NAME_lora_a}, {@code NAME_lora_b}). Empty: no LoRA.
     */
    Map<String, String> loraModules();

    /** Family-specific constants of the program (see {@link ProgramSource} for the common ones). */
    Map<String, String> constants(GptConfig c, Precision precision);

    /** Initial values of one parameter (GPT-2's scheme: N(0, 0.02), residual projections / sqrt(2L), gains 1). */
    float[] initialValues(String name, long[] shape, GptConfig c, SplittableRandom random);

    /** Whether the program has the one-token {@code decode} fast path ({@code decode}, {@code decode_weights}). */
    boolean hasDecode();

    /** Per-layer variables with the LoRA adapters of {@link #loraModules()} added. */
    default Map<String, String> blockVariablesWithAdapters() {
        Map<String, String> all = new LinkedHashMap<>(blockVariables());
        loraModules().forEach((module, name) -> {
            all.put(module + ".lora_A.weight", name + "_lora_a");
            all.put(module + ".lora_B.weight", name + "_lora_b");
        });
        return all;
    }

    /** N(0, std) values for a parameter of {@code shape}. */
    static float[] gaussian(long[] shape, double std, SplittableRandom random) {
        float[] data = new float[size(shape)];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) (random.nextGaussian() * std);
        }
        return data;
    }

    /** Number of elements of {@code shape}. */
    static int size(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return Math.toIntExact(n);
    }
}
