package seed.stages.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import seed.stages.model.Gpt;
import seed.stages.model.LoraSettings;

/**
 * LoRA adapters on disk in PEFT's layout, so a LoRA run's checkpoint is what Hugging Face tools expect of one:
 * {@code adapter_config.json} ({@code r}, {@code lora_alpha}, {@code lora_dropout}, {@code target_modules},
 * {@code use_rslora}, {@code base_model_name_or_path}) and {@code adapter_model.safetensors} whose keys are PEFT's
 * ({@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}). The base is not copied: the config names
 * its folder (absolute), and loading loads the base, with its own adapters folded in when it has some (an RL run
 * on a LoRA SFT model), then these adapters.
 */
public final class PeftAdapters {

    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    /** PEFT's prefix of every adapter key: the PeftModel wraps the base model as base_model.model. */
    public static final String PREFIX = "base_model.model.";

    private PeftAdapters() {
    }

    /** Whether {@code folder} holds adapters (a LoRA checkpoint) rather than a whole model. */
    public static boolean isAdapterFolder(Path folder) {
        return Files.exists(folder.resolve(CONFIG)) && Files.exists(folder.resolve(WEIGHTS));
    }

    /** Writes {@code model}'s adapters and their config naming {@code base}, the folder its base weights came from. */
    public static void write(Path folder, Gpt model, Path base) throws IOException {
        LoraSettings lora = model.lora();
        if (lora == null) {
            throw new IllegalArgumentException("the model has no adapters to write");
        }
        if (base == null) {
            throw new IllegalStateException("a LoRA checkpoint must name its base model's folder, and this model's "
                    + "base has none (load the base from a folder before adding adapters)");
        }
        ObjectNode config = Checkpoints.JSON.createObjectNode();
        config.put("peft_type", "LORA");
        config.put("task_type", "CAUSAL_LM");
        config.put("base_model_name_or_path", base.toAbsolutePath().normalize().toString());
        config.put("r", lora.rank());
        config.put("lora_alpha", lora.alpha());
        config.put("lora_dropout", lora.dropout());
        config.put("use_rslora", lora.rsLora());
        config.put("bias", "none");
        config.put("fan_in_fan_out", false);
        config.put("inference_mode", false);
        var saved = config.putArray("modules_to_save");
        lora.modulesToSave().forEach(saved::add);
        var targets = config.putArray("target_modules");
        model.parameters().keySet().stream().filter(n -> n.contains(".lora_A."))
                .map(n -> n.substring(0, n.indexOf(".lora_A.")))
                .map(n -> n.substring(n.lastIndexOf('.') + 1)).distinct().forEach(targets::add);
        Checkpoints.JSON.writeValue(folder.resolve(CONFIG).toFile(), config);
        Map<String, HostTensor> prefixed = new LinkedHashMap<>();
        model.adapterWeights().forEach((name, tensor) -> prefixed.put(PREFIX + name, tensor));
        SafeTensors.write(folder.resolve(WEIGHTS), prefixed, Map.of("format", "pt", "producer", "seed"));
    }

    /** The adapters' settings from {@code adapter_config.json}, with errors naming the field. */
    public static LoraSettings readSettings(Path folder) throws IOException {
        JsonNode c = Checkpoints.JSON_READER.readTree(folder.resolve(CONFIG).toFile());
        if (!"LORA".equalsIgnoreCase(c.path("peft_type").asText("LORA"))) {
            throw new IllegalArgumentException(folder.resolve(CONFIG) + ": peft_type " + c.path("peft_type").asText()
                    + " is not LORA");
        }
        if (!c.path("bias").asText("none").equals("none")) {
            throw new IllegalArgumentException(folder.resolve(CONFIG) + ": bias '" + c.path("bias").asText()
                    + "' is not implemented (only \"none\")");
        }
        List<String> targets = new ArrayList<>();
        c.path("target_modules").forEach(t -> targets.add(t.asText()));
        List<String> saved = new ArrayList<>();
        c.path("modules_to_save").forEach(t -> saved.add(t.asText()));
        return new LoraSettings(c.path("r").asInt(), c.path("lora_alpha").asDouble(), c.path("lora_dropout").asDouble(),
                targets, c.path("use_rslora").asBoolean(false), saved);
    }

    /** The base model's folder named by {@code adapter_config.json} (relative paths resolve against the folder). */
    public static Path base(Path folder) throws IOException {
        String name = Checkpoints.JSON_READER.readTree(folder.resolve(CONFIG).toFile())
                .path("base_model_name_or_path").asText("");
        Path base = folder.resolve(name);
        if (name.isEmpty() || !Files.isDirectory(base)) {
            throw new IOException(folder.resolve(CONFIG) + ": base_model_name_or_path '" + name
                    + "' is not a folder on this machine (Seed never downloads models)");
        }
        return base;
    }

    /** The adapter weights by Seed's parameter names (PEFT's prefix removed). */
    public static Map<String, HostTensor> readWeights(Path folder) throws IOException {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        SafeTensors.read(folder.resolve(WEIGHTS)).forEach((key, tensor) ->
                out.put(key.startsWith(PREFIX) ? key.substring(PREFIX.length()) : key, tensor));
        return out;
    }
}
