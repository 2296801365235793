package seed.stages.data;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import seed.stages.tokenizer.HfTokenizer;
import seed.stages.tokenizer.Tokenizer;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A Hugging Face chat template (tokenizer_config.json's Jinja {@code chat_template}) as a {@link ChatFormat},
 * rendered by Jinjava the way {@code transformers}' {@code apply_chat_template} does: Jinja with trim_blocks and
 * lstrip_blocks, {@code messages}, {@code bos_token}, {@code eos_token}, {@code add_generation_prompt},
 * {@code raise_exception(msg)} and {@code strftime_now(fmt)}, and the rendered text tokenized as a whole with special
 * tokens matched and none added. The response of a turn is what rendering the conversation with the assistant's
 * message adds to the prompt's rendering, as TRL cuts prompt and completion.
 *
 * <p>A tokenizer without a template gets {@link #DEFAULT_TEMPLATE}: plain text lines "System: ...", "User: ...",
 * then "Assistant: " + the response + the tokenizer's eos token, so any folder (an unmodified GPT-2 one) can be
 * fine-tuned on conversations.
 */
public final class JinjaChatFormat implements ChatFormat {

    /**
     * Seed's default chat template, for tokenizers that have none: it needs only the eos token. Each system or user
     * message is one line "Role: content"; the assistant's turn is "Assistant: " + content + eos, and the generation
     * prompt is "Assistant:" (the response's leading space then belongs to the response, as byte-level BPE prefers).
     */
    public static final String DEFAULT_TEMPLATE = """
            {%- for message in messages -%}
            {%- if message['role'] == 'system' -%}{{ 'System: ' + message['content'] + '\n' }}
            {%- elif message['role'] == 'user' -%}{{ 'User: ' + message['content'] + '\n' }}
            {%- elif message['role'] == 'assistant' -%}{{ 'Assistant: ' + message['content'] + eos_token }}
            {%- else -%}{{ raise_exception('the default template knows the roles system, user and assistant') }}
            {%- endif -%}
            {%- endfor -%}
            {%- if add_generation_prompt -%}{{ 'Assistant:' }}{%- endif -%}""";

    /** Stands for a message's content when the template's framing around it is measured; never appears in data. */
    private static final String SENTINEL = "SEEDCONTENTSENTINEL7f3a";

    private final HfTokenizer tokenizer;
    private final String template;
    private final String name;
    private final Jinjava jinja;
    private final Map<String, Object> tokens;
    /** The ids between the last user message and the response ("assistant header"), or empty. */
    private final int[] marker;
    /** The text the template puts before a response's content (e.g. the default template's space). */
    private final String responsePrefix;
    private final int[] endOfTurn;
    private final int stopId;

    private JinjaChatFormat(HfTokenizer tokenizer, String template, String name) {
        this.tokenizer = tokenizer;
        this.template = template;
        this.name = name;
        this.jinja = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
        jinja.registerFunction(new ELFunctionDefinition("", "raise_exception", JinjaChatFormat.class,
                "raiseException", String.class));
        jinja.registerFunction(new ELFunctionDefinition("", "strftime_now", JinjaChatFormat.class,
                "strftimeNow", String.class));
        HfTokenizer.SpecialTokens s = tokenizer.specialTokens();
        Map<String, Object> t = new HashMap<>();
        t.put("bos_token", s.bos() == null ? "" : s.bos());
        t.put("eos_token", s.eos());
        t.put("pad_token", s.pad() == null ? s.eos() : s.pad());
        t.put("unk_token", s.unk() == null ? "" : s.unk());
        this.tokens = Map.copyOf(t);

        // Measure the template's framing once on a probe conversation.
        List<ChatTemplate.Message> probe = List.of(new ChatTemplate.Message("user", SENTINEL));
        String asked = render(probe, true);
        String afterUser = asked.substring(asked.lastIndexOf(SENTINEL) + SENTINEL.length());
        this.marker = afterUser.isEmpty() ? new int[0] : tokenizer.encode(afterUser);
        List<ChatTemplate.Message> answered = List.of(new ChatTemplate.Message("user", "Hi"),
                new ChatTemplate.Message("assistant", SENTINEL));
        String prompt = render(answered.subList(0, 1), true);
        String full = render(answered, false);
        int at = full.lastIndexOf(SENTINEL);
        if (!full.startsWith(prompt) || at < prompt.length()) {
            throw new IllegalArgumentException("the chat template renders an answered conversation so that it does not "
                    + "begin with the prompt's rendering (add_generation_prompt=true); Seed cannot tell where the "
                    + "response starts: prompt " + quote(prompt) + ", answered " + quote(full));
        }
        this.responsePrefix = full.substring(prompt.length(), at);
        String end = full.substring(at + SENTINEL.length());
        int[] endIds = end.isEmpty() ? new int[0] : tokenizer.encode(end);
        int stop = -1;
        for (int id : endIds) {
            if (tokenizer.isSpecial(id)) {
                stop = id;
                break;
            }
        }
        if (stop < 0) {
            // a template whose turn end has no special token: the eos token closes the response
            stop = tokenizer.endOfTextId();
            endIds = Arrays.copyOf(endIds, endIds.length + 1);
            endIds[endIds.length - 1] = stop;
        }
        this.endOfTurn = endIds;
        this.stopId = stop;
    }

    /**
     * Formats already built, for the last few tokenizers (by identity): stages make a Generator per rollout, and the
     * template's probes need not rerun. Bounded, since each entry keeps its tokenizer reachable.
     */
    private static final Map<HfTokenizer, JinjaChatFormat> BUILT = Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<HfTokenizer, JinjaChatFormat> eldest) {
                    return size() > 8;
                }
            });

    /** The tokenizer's own chat template, or {@link #DEFAULT_TEMPLATE} when it has none. */
    public static JinjaChatFormat of(HfTokenizer tokenizer) {
        return BUILT.computeIfAbsent(tokenizer, t -> t.chatTemplate()
                .map(template -> new JinjaChatFormat(t, template, "chat_template"))
                .orElseGet(() -> new JinjaChatFormat(t, DEFAULT_TEMPLATE, "default_template")));
    }

    /** A given template (e.g. from a flag or a test) for {@code tokenizer}. */
    public static JinjaChatFormat of(HfTokenizer tokenizer, String template) {
        return new JinjaChatFormat(tokenizer, template, "chat_template");
    }

    /** Jinja's {@code raise_exception(msg)} of Hugging Face templates: stops the rendering with the template's reason. */
    public static String raiseException(String message) {
        throw new IllegalArgumentException("the chat template refused the conversation: " + message);
    }

    /** Hugging Face's {@code strftime_now(fmt)} (Llama 3.1+ templates put today's date into the system prompt). */
    public static String strftimeNow(String format) {
        LocalDateTime now = LocalDateTime.now();
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char f = format.charAt(++i);
            out.append(switch (f) {
                case 'd' -> String.format("%02d", now.getDayOfMonth());
                case 'm' -> String.format("%02d", now.getMonthValue());
                case 'Y' -> String.valueOf(now.getYear());
                case 'y' -> String.format("%02d", now.getYear() % 100);
                case 'b' -> now.format(DateTimeFormatter.ofPattern("MMM", Locale.ENGLISH));
                case 'B' -> now.format(DateTimeFormatter.ofPattern("MMMM", Locale.ENGLISH));
                case 'H' -> String.format("%02d", now.getHour());
                case 'M' -> String.format("%02d", now.getMinute());
                case '%' -> "%";
                default -> "%" + f;
            });
        }
        return out.toString();
    }

    /** Renders {@code conversation} as the template does; {@code addGenerationPrompt} opens the assistant's turn. */
    public String render(List<ChatTemplate.Message> conversation, boolean addGenerationPrompt) {
        List<Map<String, Object>> messages = new ArrayList<>(conversation.size());
        for (ChatTemplate.Message m : conversation) {
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("role", m.role());
            message.put("content", m.content());
            messages.add(message);
        }
        Map<String, Object> context = new HashMap<>(tokens);
        context.put("messages", messages);
        context.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result;
        try {
            result = jinja.renderForResult(template, context);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(refusal(e), e);
        }
        for (TemplateError e : result.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException(e.getException() != null ? refusal(e.getException())
                        : "the chat template failed to render: " + e.getMessage());
            }
        }
        return result.getOutput();
    }

    /** The message of a raise_exception in the cause chain, else the error itself. */
    private static String refusal(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof IllegalArgumentException && c.getMessage() != null
                    && c.getMessage().startsWith("the chat template refused")) {
                return c.getMessage();
            }
        }
        return "the chat template failed to render: " + e.getMessage();
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public String name() {
        return name;
    }

    /** The template's raw text. */
    public String template() {
        return template;
    }

    /**
     * The rendered prompt (add_generation_prompt=true) tokenized whole; a leading bos and the trailing assistant
     * header are the framing that left truncation keeps.
     */
    @Override
    public PromptIds prompt(List<ChatTemplate.Message> conversation) {
        int[] ids = tokenizer.encode(render(conversation, true));
        OptionalInt bos = tokenizer.bosId();
        int head = bos.isPresent() && ids.length > 0 && ids[0] == bos.getAsInt() ? 1 : 0;
        int tail = marker.length > 0 && endsWith(ids, marker) && ids.length - marker.length >= head ? marker.length : 0;
        return new PromptIds(Arrays.copyOfRange(ids, 0, head), Arrays.copyOfRange(ids, head, ids.length - tail),
                Arrays.copyOfRange(ids, ids.length - tail, ids.length));
    }

    /**
     * What rendering the conversation with the response as the assistant's next message adds to the prompt's
     * rendering, split into the response's part and the turn's end (the template's text after the content).
     */
    @Override
    public ResponseIds response(List<ChatTemplate.Message> conversation, String response) {
        String prompt = render(conversation, true);
        List<ChatTemplate.Message> answered = new ArrayList<>(conversation);
        answered.add(new ChatTemplate.Message("assistant", response));
        String full = render(answered, false);
        if (!full.startsWith(prompt)) {
            throw new IllegalArgumentException("the chat template renders this conversation with its response so that "
                    + "it does not begin with the prompt's rendering; Seed cannot cut prompt and response");
        }
        answered.set(answered.size() - 1, new ChatTemplate.Message("assistant", SENTINEL));
        String measured = render(answered, false);
        String end = measured.substring(measured.lastIndexOf(SENTINEL) + SENTINEL.length());
        String completion = full.substring(prompt.length());
        String text = completion.endsWith(end) ? completion.substring(0, completion.length() - end.length()) : completion;
        int[] endIds = completion.endsWith(end) && !end.isEmpty() ? tokenizer.encode(end) : new int[0];
        boolean closed = false;
        for (int id : endIds) {
            closed |= id == stopId;
        }
        if (!closed) {
            endIds = Arrays.copyOf(endIds, endIds.length + 1);
            endIds[endIds.length - 1] = stopId;
        }
        return new ResponseIds(text.isEmpty() ? new int[0] : tokenizer.encode(text), endIds);
    }

    @Override
    public int[] endOfTurn() {
        return endOfTurn.clone();
    }

    /** The first special token of the template's turn end (e.g. {@code <|im_end|>}, {@code <|eot_id|>}), or eos. */
    @Override
    public boolean endsResponse(int id) {
        return id == stopId || id == tokenizer.endOfTextId();
    }

    /** Special tokens skipped, and the template's text before a response's content (the default's space) removed. */
    @Override
    public String visibleText(int[] generated) {
        String text = tokenizer.decodeSkippingSpecial(generated);
        return !responsePrefix.isEmpty() && text.startsWith(responsePrefix) ? text.substring(responsePrefix.length()) : text;
    }

    /** After the last occurrence of the assistant header's ids; 1 when it does not occur. */
    @Override
    public int responseStart(int[] sequence) {
        if (marker.length == 0) {
            return 1;
        }
        for (int t = sequence.length - marker.length; t >= 0; t--) {
            if (Arrays.equals(sequence, t, t + marker.length, marker, 0, marker.length)) {
                return t + marker.length;
            }
        }
        return 1;
    }

    private static boolean endsWith(int[] ids, int[] suffix) {
        return ids.length >= suffix.length
                && Arrays.equals(ids, ids.length - suffix.length, ids.length, suffix, 0, suffix.length);
    }

    private static String quote(String s) {
        return "\"" + (s.length() > 200 ? s.substring(0, 200) + "..." : s).replace("\n", "\\n") + "\"";
    }
}
