package seed.workflows.lineage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The one canonical form of a lineage record: compact JSON, map keys sorted at every level, UTF-8. The stored text
 * is exactly what is hashed and signed, so verification never depends on re-serialising (which could differ between
 * Jackson versions); the canonical form only has to be produced once, when the record is written.
 */
public final class CanonicalJson {

    /** The mapper for canonical text and for reading records back. */
    public static final ObjectMapper JSON = new ObjectMapper()
            .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true)
            .configure(SerializationFeature.INDENT_OUTPUT, false);

    private CanonicalJson() {
    }

    /** Canonical text of a tree of maps, lists and JSON scalars. */
    public static String write(Object value) {
        try {
            // through a tree first: ORDER_MAP_ENTRIES_BY_KEYS sorts Maps, and a tree of sorted maps sorts everywhere
            JsonNode tree = JSON.valueToTree(value);
            return JSON.writeValueAsString(JSON.treeToValue(tree, Object.class));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("value cannot be written as canonical JSON: " + e.getOriginalMessage(), e);
        }
    }

    public static JsonNode read(String text) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** Lower-case hex SHA-256 of the UTF-8 bytes of {@code text}. */
    public static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always has SHA-256", e);
        }
    }
}
